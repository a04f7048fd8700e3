"""Batch benchmark (not a test): `migrate batch run` over 20 mailboxes with 1, 2 and 4 workers,
next to the single-mailbox rate of a plain `migrate run`, and the queue's overhead per job.

    python benchmarks/batch_bench.py [--mailboxes 20] [--messages 150] [--workers 1 2 4] [--json out.json]

One throwaway Dovecot (tools/dovecot_sandbox.py, IMAPS on loopback); one Maildir corpus
(benchmarks/corpus.py) read by every mailbox of the manifest, each into its own fresh account.

- single: `migrate run` of one mailbox (the same corpus), in this process after a warm-up (no
  interpreter start, as a warm worker): messages/s;
- batch N: `migrate batch run --workers N` over all the mailboxes (embedded queue): aggregate
  messages/s = mailboxes x messages / the seconds from the first job's start to the last job's
  end (the board's times), its ratio to the single-mailbox rate, and the whole command's wall time;
- overhead per job: `batch run --workers 1` over the same number of one-message mailboxes, the busy
  span per job, minus a warm in-process `migrate run` of one such mailbox (connect, log in,
  list, plan nothing: what every run pays): what the queue, the board (claim, lease, heartbeat,
  finish) and the worker add per job.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT))

from dovecot_sandbox import DovecotSandbox  # noqa: E402

from benchmarks.corpus import write_corpus  # noqa: E402


def migrate(args: list[str], env: dict[str, str]) -> float:
    """Run `python -m migrator ARGS`; wall seconds. Exits on a failure (with its output)."""
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "migrator", *args], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"migrate {' '.join(args[:2])} failed ({r.returncode}):\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    return wall


def users(sb: DovecotSandbox, n: int, work: Path, tag: str) -> list[tuple[str, Path]]:
    """`n` fresh accounts: (imaps URL, password file)."""
    out = []
    for i in range(n):
        name, pw = f"{tag}-{i}-{uuid.uuid4().hex[:6]}", f"pw-{uuid.uuid4().hex[:10]}"
        sb.add_user(name, pw)
        f = work / "secrets" / f"{name}"
        f.parent.mkdir(exist_ok=True)
        f.write_text(pw + "\n", encoding="utf-8")
        out.append((f"imaps://{name}@{sb.host}:{sb.imaps_port}", f))
    return out


def manifest(path: Path, source: Path, accounts: list[tuple[str, Path]]) -> Path:
    """A manifest: every account fed from `source`, secrets as file: references."""
    lines = ["source,target,secret"] + [f"{source},{url},file:{pw}" for url, pw in accounts]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def inprocess_run(source: Path, url: str, password: str, state: Path, env: dict[str, str]) -> float:
    """Seconds of one in-process `migrate run` (no interpreter start: what a warm worker pays)."""
    from migrator.cli import main as cli_main

    saved = dict(os.environ)
    os.environ.update({k: v for k, v in env.items() if k in ("SSL_CERT_FILE", "MIGRATE_LOCK_DIR")})
    os.environ["MIGRATE_PASSWORD"] = password
    try:
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            rc = cli_main(["run", str(source), "--target", url, "--state", str(state), "-q"])
        if rc != 0:
            sys.exit(f"in-process run failed ({rc})")
        return time.perf_counter() - t0
    finally:
        os.environ.clear()
        os.environ.update(saved)


def span(manifest_path: Path) -> float:
    """Seconds from the first job's start to the last job's end, from the batch's board (the
    batch's own start and stop, interpreters included, left out)."""
    from migrator.batch.engine import Where

    jobs = Where(dir=manifest_path.with_suffix(".batch").resolve()).board().jobs().values()
    return max(j.finished or 0.0 for j in jobs) - min(j.started or 0.0 for j in jobs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mailboxes", type=int, default=20)
    ap.add_argument("--messages", type=int, default=150, help="messages per mailbox")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="batch-bench-"))
    sb = DovecotSandbox(work / "dovecot").start()
    try:
        env = {**os.environ, "SSL_CERT_FILE": str(sb.cafile), "PYTHONPATH": str(ROOT),
               "MIGRATE_LOCK_DIR": str(work / "locks")}
        src = work / "Maildir"
        size = write_corpus(src, a.messages, folders=2)
        empty = work / "Tiny"  # one message: `migrate run` refuses a source with no mail (exit 2)
        write_corpus(empty, 1, folders=1)
        per_mailbox = a.messages
        total = a.mailboxes * per_mailbox
        result: dict[str, object] = {"mailboxes": a.mailboxes, "messages_per_mailbox": per_mailbox,
                                     "bytes_per_mailbox": size}

        (url, pw), = users(sb, 1, work, "warmup")
        inprocess_run(empty, url, pw.read_text().strip(), work / "warmup.db", env)  # imports, TLS context
        (url, pw), = users(sb, 1, work, "single")
        wall = inprocess_run(src, url, pw.read_text().strip(), work / "single.db", env)
        single = per_mailbox / wall
        result["single_msgs_per_s"] = round(single, 1)
        print(f"single mailbox (`migrate run`, in-process): {per_mailbox} messages in {wall:.2f} s = "
              f"{single:.1f} msg/s")

        rates: dict[str, dict[str, float]] = {}
        for n in a.workers:
            accounts = users(sb, a.mailboxes, work, f"w{n}")
            m = manifest(work / f"batch-{n}.csv", src, accounts)
            wall = migrate(["batch", "run", str(m), "--workers", str(n), "-q"], env)
            busy = span(m)
            rate = total / busy
            rates[str(n)] = {"wall_s": round(wall, 1), "span_s": round(busy, 1), "msgs_per_s": round(rate, 1),
                             "ratio_to_single": round(rate / single, 2), "wall_msgs_per_s": round(total / wall, 1)}
            print(f"batch, {n} worker(s): {total} messages, jobs busy {busy:.1f} s = {rate:.1f} msg/s "
                  f"({rate / single:.2f} x single); whole command {wall:.1f} s = {total / wall:.1f} msg/s")
        result["batch"] = rates

        (url, pw), = users(sb, 1, work, "empty")
        warm = min(inprocess_run(empty, url, pw.read_text().strip(), work / f"empty-{i}.db", env) for i in range(3))
        accounts = users(sb, a.mailboxes, work, "overhead")
        m = manifest(work / "empty.csv", empty, accounts)
        wall = migrate(["batch", "run", str(m), "--workers", "1", "-q"], env)
        per_job = span(m) / a.mailboxes
        result["empty_run_warm_s"] = round(warm, 3)
        result["batch_empty_job_s"] = round(per_job, 3)
        result["queue_overhead_per_job_s"] = round(per_job - warm, 3)
        result["batch_empty_wall_s"] = round(wall, 1)
        print(f"one-message mailbox: warm in-process `migrate run` {warm:.3f} s; batch, 1 worker: {per_job:.3f} s per job "
              f"-> queue overhead {per_job - warm:.3f} s per job (whole command {wall:.1f} s for "
              f"{a.mailboxes} jobs, interpreters' start and stop included)")
        if a.json:
            a.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    finally:
        sb.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
