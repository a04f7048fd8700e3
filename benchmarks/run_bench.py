"""Throughput and memory benchmark (not a test): `migrate run` against a real Dovecot on loopback
and through a latency-injecting proxy, next to a one-APPEND-at-a-time baseline, Dovecot's own
server-side import (the ceiling no IMAP client can beat) and mbsync (when installed).

    python benchmarks/run_bench.py [--messages 3000] [--rtt 0 20 100] [--json out.json]

Prints messages/s, MB/s, peak RSS and the ratios the performance targets are stated in.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT))

from benchmarks.corpus import write_corpus  # noqa: E402
from dovecot_sandbox import DovecotSandbox  # noqa: E402
from faultproxy import FaultProxy  # noqa: E402

PASSWORD = "bench-password"


def child_peak_rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


def run_timed(cmd: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (KB) of the child, stdout. Uses GNU time when present for the RSS."""
    time_bin = shutil.which("time") or "/usr/bin/time"
    rss_file = tempfile.NamedTemporaryFile(delete=False)
    rss_file.close()
    full = [time_bin, "-f", "%M", "-o", rss_file.name] + cmd if os.path.exists(time_bin) else cmd
    t0 = time.monotonic()
    r = subprocess.run(full, env=env, capture_output=True, text=True)
    secs = time.monotonic() - t0
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    try:
        rss = int(Path(rss_file.name).read_text().strip().splitlines()[-1])
    except (ValueError, IndexError):
        rss = 0
    os.unlink(rss_file.name)
    return secs, rss, r.stdout


def corpus_stats(src: Path) -> tuple[int, int]:
    files = [p for p in src.rglob("*") if p.is_file() and p.parent.name in ("cur", "new")]
    return len(files), sum(p.stat().st_size for p in files)


def bench_migrate(sb: DovecotSandbox, user: str, port: int, src: Path, work: Path, connections: int,
                  batch: int) -> dict[str, float]:
    sb.add_user(user, PASSWORD)
    env = {**os.environ, "MIGRATE_PASSWORD": PASSWORD, "SSL_CERT_FILE": str(sb.cafile)}
    cmd = [sys.executable, "-m", "migrator", "run", str(src), "--target", f"imaps://{user}@127.0.0.1:{port}",
           "--state", str(work / f"{user}.db"), "-q", "--connections", str(connections), "--batch", str(batch)]
    secs, rss, _out = run_timed(cmd, env)
    return {"seconds": secs, "rss_kb": rss}


def bench_baseline(sb: DovecotSandbox, user: str, port: int, src: Path, limit: int) -> dict[str, float]:
    """One APPEND at a time, waiting for each answer (what naive uploaders do)."""
    import imapclient
    import ssl

    sb.add_user(user, PASSWORD)
    ctx = ssl.create_default_context(cafile=str(sb.cafile))
    c = imapclient.IMAPClient("127.0.0.1", port, ssl=True, ssl_context=ctx)
    c.login(user, PASSWORD)
    files = sorted(p for p in (src / "cur").iterdir())[:limit]
    t0 = time.monotonic()
    nbytes = 0
    for p in files:
        data = p.read_bytes().replace(b"\n", b"\r\n")
        nbytes += len(data)
        c.append("INBOX", data)
    secs = time.monotonic() - t0
    c.logout()
    return {"seconds": secs, "messages": len(files), "bytes": nbytes}


def bench_doveadm(sb: DovecotSandbox, user: str, src: Path, work: Path) -> dict[str, float]:
    """Dovecot importing the same Maildir itself: no network, no IMAP parsing. Its index and
    control files go to a directory of its own, so the corpus is only read."""
    sb.add_user(user, PASSWORD)
    ctl = work / f"ctl-{user}"
    ctl.mkdir()
    uid, gid, _, _ = sb._ids()  # noqa: SLF001 - the mail user the sandbox runs as
    os.chown(ctl, uid, gid)
    t0 = time.monotonic()
    sb.doveadm("import", "-u", user, f"maildir:{src}:INDEX=MEMORY:CONTROL={ctl}", "", "all")
    secs = time.monotonic() - t0
    out = sb.doveadm("mailbox", "status", "-u", user, "messages", "*").stdout
    imported = sum(int(x.split("=")[1]) for x in out.split() if x.startswith("messages="))
    return {"seconds": secs, "imported": imported}


def bench_mbsync(sb: DovecotSandbox, user: str, port: int, src: Path, work: Path) -> dict[str, float] | None:
    exe = shutil.which("mbsync")
    if exe is None:
        return None
    sb.add_user(user, PASSWORD)
    copy = work / f"mbsync-{user}"
    shutil.copytree(src, copy)
    rc = work / f"{user}.mbsyncrc"
    rc.write_text(
        f"IMAPAccount remote\nHost localhost\nPort {port}\nUser {user}\nPass {PASSWORD}\nTLSType IMAPS\n"
        f"CertificateFile {sb.cafile}\nPipelineDepth 50\n\nIMAPStore remote\nAccount remote\n\n"
        f"MaildirStore local\nInbox {copy}\nSubFolders Maildir++\n\n"
        f"Channel push\nFar :remote:\nNear :local:\nPatterns *\nCreate Both\nSync Push\nSyncState *\n"
    )
    t0 = time.monotonic()
    r = subprocess.run([exe, "-c", str(rc), "-a", "-q"], capture_output=True, text=True)
    secs = time.monotonic() - t0
    if r.returncode != 0:
        # older isync spells TLSType as SSLType
        rc.write_text(rc.read_text().replace("TLSType IMAPS", "SSLType IMAPS"))
        t0 = time.monotonic()
        r = subprocess.run([exe, "-c", str(rc), "-a", "-q"], capture_output=True, text=True)
        secs = time.monotonic() - t0
        if r.returncode != 0:
            print(f"mbsync failed: {r.stderr.strip()[:300]}", file=sys.stderr)
            return None
    return {"seconds": secs}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=3000)
    ap.add_argument("--rtt", type=int, nargs="*", default=[0, 20, 100], help="round trips in ms (0 = loopback)")
    ap.add_argument("--baseline-messages", type=int, default=200)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="migrate-bench-"))
    os.chmod(work, 0o755)
    src = work / "corpus"
    write_corpus(src, a.messages, seed=1, folders=4)
    for p in [work, *src.rglob("*")]:
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
    count, nbytes = corpus_stats(src)
    results: dict[str, object] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "corpus": {"messages": count, "bytes": nbytes},
        "runs": {},
    }
    runs: dict[str, dict[str, float]] = results["runs"]  # type: ignore[assignment]
    with DovecotSandbox(work / "dovecot") as sb:
        results["dovecot"] = sb.version
        d = bench_doveadm(sb, "ceiling", src, work)
        runs["doveadm import (server-side ceiling)"] = {**d, "messages": count, "bytes": nbytes}
        for rtt in a.rtt:
            proxy = None
            port = sb.imaps_port
            if rtt:
                proxy = FaultProxy("127.0.0.1", sb.imaps_port, latency_ms=rtt / 2)
                proxy.start()
                port = proxy.port
            try:
                label = "loopback" if not rtt else f"{rtt} ms RTT"
                m = bench_migrate(sb, f"m{rtt}", port, src, work, a.connections, a.batch)
                runs[f"migrate run, {label}"] = {**m, "messages": count, "bytes": nbytes}
                m1 = bench_migrate(sb, f"s{rtt}", port, src, work, 1, a.batch)
                runs[f"migrate run --connections 1, {label}"] = {**m1, "messages": count, "bytes": nbytes}
                limit = a.baseline_messages if rtt else min(count, 1000)
                runs[f"one APPEND at a time, {label}"] = bench_baseline(sb, f"b{rtt}", port, src, limit)
                mb = bench_mbsync(sb, f"i{rtt}", port, src, work)
                if mb:
                    runs[f"mbsync, {label}"] = {**mb, "messages": count, "bytes": nbytes}
            finally:
                if proxy is not None:
                    proxy.stop()
    print(f"corpus: {count} messages, {nbytes / 1e6:.1f} MB; Dovecot {results.get('dovecot')}; "
          f"{os.cpu_count()} CPUs")
    print(f"{'run':<48} {'msg/s':>9} {'MB/s':>8} {'peak RSS':>10}")
    for name, r in runs.items():
        mps = r["messages"] / r["seconds"]
        r["messages_per_second"] = round(mps, 1)
        r["mb_per_second"] = round(r["bytes"] / r["seconds"] / 1e6, 2)
        rss = f"{r['rss_kb'] / 1024:.0f} MB" if r.get("rss_kb") else ""
        print(f"{name:<48} {mps:>9.1f} {r['mb_per_second']:>8.2f} {rss:>10}")
    ceiling = runs["doveadm import (server-side ceiling)"]["messages_per_second"]
    ratios = {}
    for rtt in a.rtt:
        label = "loopback" if not rtt else f"{rtt} ms RTT"
        ours = runs[f"migrate run, {label}"]["messages_per_second"]
        base = runs[f"one APPEND at a time, {label}"]["messages_per_second"]
        ratios[f"{label}: migrate / one-at-a-time"] = round(ours / base, 1)
        if not rtt:
            ratios["loopback: migrate / doveadm import"] = round(ours / ceiling, 2)
        if f"mbsync, {label}" in runs:
            ratios[f"{label}: migrate / mbsync"] = round(ours / runs[f"mbsync, {label}"]["messages_per_second"], 2)
    results["ratios"] = ratios
    print()
    for k, v in ratios.items():
        print(f"{k:<48} {v:>9}")
    if a.json:
        a.json.write_text(json.dumps(results, indent=2))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
