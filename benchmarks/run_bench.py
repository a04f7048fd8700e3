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
import shutil
import statistics
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
CEILING = "doveadm import (server-side ceiling)"
LOOP = "loopback"


def group_cpu_seconds(pgid: int) -> float:
    """CPU time (user + system, with reaped children) of every process in a process group: the
    Dovecot sandbox runs in one, so this is the server's CPU, TLS proxies included."""
    tck = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            total += sum(int(x) for x in fields[11:15])
    return total / tck


def run_timed(cmd: list[str], env: dict[str, str], server_pgid: int | None = None) -> dict[str, float]:
    """Wall seconds, the child's CPU seconds and peak RSS (GNU time), and the server's CPU
    seconds meanwhile. Dirty pages of earlier runs are written out first (not timed), so one
    run's writeback does not slow the next."""
    os.sync()
    time_bin = "/usr/bin/time"
    out = tempfile.NamedTemporaryFile(delete=False)
    out.close()
    full = [time_bin, "-f", "%M %U %S", "-o", out.name] + cmd if os.path.exists(time_bin) else cmd
    server0 = group_cpu_seconds(server_pgid) if server_pgid else 0.0
    t0 = time.monotonic()
    r = subprocess.run(full, env=env, capture_output=True, text=True)
    secs = time.monotonic() - t0
    if server_pgid:
        time.sleep(0.3)  # the server's processes finish their logout and are reaped
    server = group_cpu_seconds(server_pgid) - server0 if server_pgid else 0.0
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    try:
        rss, user, system = Path(out.name).read_text().strip().splitlines()[-1].split()
        res = {"rss_kb": int(rss), "client_cpu": float(user) + float(system)}
    except (ValueError, IndexError):
        res = {}
    os.unlink(out.name)
    return {"seconds": secs, "server_cpu": server, **res}


def corpus_stats(src: Path) -> tuple[int, int]:
    files = [p for p in src.rglob("*") if p.is_file() and p.parent.name in ("cur", "new")]
    return len(files), sum(p.stat().st_size for p in files)


def bench_migrate(sb: DovecotSandbox, user: str, port: int, src: Path, work: Path, connections: int,
                  batch: int, scheme: str = "imaps") -> dict[str, float]:
    sb.add_user(user, PASSWORD)
    env = {**os.environ, "MIGRATE_PASSWORD": PASSWORD, "SSL_CERT_FILE": str(sb.cafile)}
    cmd = [sys.executable, "-m", "migrator", "run", str(src), "--target", f"{scheme}://{user}@127.0.0.1:{port}",
           "--state", str(work / f"{user}.db"), "-q", "--connections", str(connections), "--batch", str(batch)]
    if scheme == "imap":
        cmd.append("--insecure")  # a Dovecot without TLS: the server's TLS cost left out
    return run_timed(cmd, env, sb.pid)


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
    _, doveadm = sb._check_binaries()  # noqa: SLF001
    res = run_timed([doveadm, "-c", str(sb.config), "import", "-u", user,
                     f"maildir:{src}:INDEX=MEMORY:CONTROL={ctl}", "", "all"], dict(os.environ), sb.pid)
    res["server_cpu"] = res.get("server_cpu", 0.0) + res.pop("client_cpu", 0.0)  # doveadm is the server here
    res.pop("rss_kb", None)
    out = sb.doveadm("mailbox", "status", "-u", user, "messages", "*").stdout
    res["imported"] = sum(int(x.split("=")[1]) for x in out.split() if x.startswith("messages="))
    return res


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
    for attempt in range(2):
        try:
            return {**run_timed([exe, "-c", str(rc), "-a", "-q"], dict(os.environ), sb.pid), "rss_kb": 0}
        except SystemExit as exc:  # a config error: nothing was pushed
            if attempt:
                print(f"mbsync failed: {str(exc)[:300]}", file=sys.stderr)
                return None
            rc.write_text(rc.read_text().replace("TLSType IMAPS", "SSLType IMAPS"))  # isync before 1.4
    return None


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=10000)
    ap.add_argument("--rtt", type=int, nargs="*", default=[0, 20, 100], help="round trips in ms (0 = loopback)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="loopback: doveadm import and migrate run this many times, interleaved; medians reported")
    ap.add_argument("--baseline-messages", type=int, default=200)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--dir", type=Path, default=None,
                    help="where the corpus and the server's mail go (default: a new directory in $TMPDIR; "
                         "/dev/shm takes the disk out of the comparison)")
    ap.add_argument("--no-plain", action="store_true", help="skip the loopback run against a Dovecot without TLS")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="migrate-bench-", dir=a.dir))
    os.chmod(work, 0o755)
    src = work / "corpus"
    write_corpus(src, a.messages, seed=1, folders=4)
    for p in [work, *src.rglob("*")]:
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
    count, nbytes = corpus_stats(src)
    results: dict[str, object] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "storage": str(work)},
        "corpus": {"messages": count, "bytes": nbytes},
        "runs": {},
    }
    runs: dict[str, dict[str, float]] = results["runs"]  # type: ignore[assignment]
    samples: dict[str, list[dict[str, float]]] = {}

    def keep(name: str, r: dict[str, float] | None, messages: int = count, size: int = nbytes) -> None:
        if r is not None:
            samples.setdefault(name, []).append({"messages": messages, "bytes": size, **r})

    plain_sb = None if a.no_plain else DovecotSandbox(work / "dovecot-plain", starttls=False).start()
    try:
        with DovecotSandbox(work / "dovecot") as sb:
            results["dovecot"] = sb.version
            n = 0
            for _ in range(max(1, a.rounds)):  # the noisy pair, interleaved: ceiling, ours, ceiling, ours...
                n += 1
                keep(CEILING, bench_doveadm(sb, f"ceiling{n}", src, work))
                keep(f"migrate run, {LOOP}", bench_migrate(sb, f"m0r{n}", sb.imaps_port, src, work,
                                                          a.connections, a.batch))
                if plain_sb is not None:
                    keep(f"migrate run, {LOOP} without TLS",
                         bench_migrate(plain_sb, f"p0r{n}", plain_sb.imap_port, src, work, a.connections, a.batch,
                                       scheme="imap"))
            for rtt in a.rtt:
                proxy = None
                port = sb.imaps_port
                if rtt:
                    proxy = FaultProxy("127.0.0.1", sb.imaps_port, latency_ms=rtt / 2)
                    proxy.start()
                    port = proxy.port
                try:
                    label = LOOP if not rtt else f"{rtt} ms RTT"
                    if rtt:
                        keep(f"migrate run, {label}", bench_migrate(sb, f"m{rtt}", port, src, work, a.connections,
                                                                    a.batch))
                    keep(f"migrate run --connections 1, {label}",
                         bench_migrate(sb, f"s{rtt}", port, src, work, 1, a.batch))
                    limit = a.baseline_messages if rtt else min(count, 1000)
                    b = bench_baseline(sb, f"b{rtt}", port, src, limit)
                    keep(f"one APPEND at a time, {label}", b, b.pop("messages"), b.pop("bytes"))
                    keep(f"mbsync, {label}", bench_mbsync(sb, f"i{rtt}", port, src, work))
                finally:
                    if proxy is not None:
                        proxy.stop()
    finally:
        if plain_sb is not None:
            plain_sb.stop()
    for name, rs in samples.items():
        rates = [r["messages"] / r["seconds"] for r in rs]
        mid = sorted(range(len(rs)), key=lambda i: rates[i])[len(rs) // 2]  # the median run's own figures
        r = dict(rs[mid])
        r["messages_per_second"] = round(rates[mid], 1)
        r["mb_per_second"] = round(r["bytes"] / r["seconds"] / 1e6, 2)
        if len(rs) > 1:
            r["all_messages_per_second"] = [round(x, 1) for x in rates]
        runs[name] = r
    print(f"corpus: {count} messages, {nbytes / 1e6:.1f} MB in {work}; Dovecot {results.get('dovecot')}; "
          f"{os.cpu_count()} CPUs; loopback pair: median of {max(1, a.rounds)} interleaved rounds")
    print(f"{'run':<46} {'msg/s':>8} {'MB/s':>7} {'RSS':>7} {'client':>8} {'server':>8}  (CPU ms/msg)")
    for name, r in runs.items():
        rss = f"{r['rss_kb'] / 1024:.0f} MB" if r.get("rss_kb") else ""
        cpu = [f"{r[k] * 1000 / r['messages']:.3f}" if r.get(k) else "" for k in ("client_cpu", "server_cpu")]
        spread = f"  runs: {', '.join(f'{x:.0f}' for x in r['all_messages_per_second'])}" \
            if "all_messages_per_second" in r else ""
        print(f"{name:<46} {r['messages_per_second']:>8.1f} {r['mb_per_second']:>7.2f} {rss:>7} {cpu[0]:>8} "
              f"{cpu[1]:>8}{spread}")
    ratios: dict[str, float] = {}
    pairs = list(zip(samples.get(CEILING, []), samples.get(f"migrate run, {LOOP}", [])))
    if pairs:
        per_round = [(m["messages"] / m["seconds"]) / (c["messages"] / c["seconds"]) for c, m in pairs]
        ratios["loopback: migrate / doveadm import"] = round(median(per_round), 2)
        results["loopback_ratio_per_round"] = [round(x, 2) for x in per_round]
        imaps = runs[f"migrate run, {LOOP}"]
        if imaps.get("server_cpu"):
            # what the server spends per IMAPS message bounds every IMAPS client on this machine
            bound = (os.cpu_count() or 1) * imaps["messages"] / imaps["server_cpu"]
            ratios["loopback: IMAPS server-CPU bound / doveadm import"] = round(
                bound / runs[CEILING]["messages_per_second"], 2)
            ratios["loopback: migrate / IMAPS server-CPU bound"] = round(imaps["messages_per_second"] / bound, 2)
    if f"migrate run, {LOOP} without TLS" in runs:
        ratios["loopback without TLS: migrate / doveadm import"] = round(
            runs[f"migrate run, {LOOP} without TLS"]["messages_per_second"] / runs[CEILING]["messages_per_second"], 2)
    for rtt in a.rtt:
        label = LOOP if not rtt else f"{rtt} ms RTT"
        ours = runs[f"migrate run, {label}"]["messages_per_second"]
        base = runs[f"one APPEND at a time, {label}"]["messages_per_second"]
        ratios[f"{label}: migrate / one-at-a-time"] = round(ours / base, 1)
        if f"mbsync, {label}" in runs:
            ratios[f"{label}: migrate / mbsync"] = round(ours / runs[f"mbsync, {label}"]["messages_per_second"], 2)
    results["ratios"] = ratios
    print()
    for k, v in ratios.items():
        print(f"{k:<56} {v:>7}")
    if "loopback_ratio_per_round" in results:
        print(f"{'  (loopback ratio, each round)':<56} {results['loopback_ratio_per_round']}")
    if a.json:
        a.json.write_text(json.dumps(results, indent=2))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
