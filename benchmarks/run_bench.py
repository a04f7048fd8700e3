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

from dovecot_sandbox import DovecotSandbox  # noqa: E402
from faultproxy import FaultProxy  # noqa: E402

from benchmarks.corpus import write_corpus  # noqa: E402
from benchmarks.store import server_store  # noqa: E402

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
    out = tempfile.NamedTemporaryFile(delete=False)  # noqa: SIM115 - closed at once; /usr/bin/time writes it
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
    import ssl

    import imapclient

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


def forget(sb: DovecotSandbox, users: list[str], work: Path) -> None:
    """Remove what timed runs stored (not timed): every round starts from the same disk state
    instead of one holding all earlier rounds' mail."""
    for user in users:
        shutil.rmtree(sb.maildir_of(user).parent, ignore_errors=True)
        shutil.rmtree(work / f"ctl-{user}", ignore_errors=True)
        for suffix in ("", "-wal", "-shm"):
            (work / f"{user}.db{suffix}").unlink(missing_ok=True)


def bracketed(ceilings: list[dict[str, float]], ours: list[dict[str, float]]) -> list[float]:
    """Each of our runs against the mean rate of the ceiling runs just before and just after it
    (the ceiling drifts with the disk's state on a shared machine)."""
    rate = [c["messages"] / c["seconds"] for c in ceilings]
    out = []
    for i, m in enumerate(ours):
        around = rate[i:i + 2] if i + 1 < len(rate) else rate[i:i + 1]
        out.append((m["messages"] / m["seconds"]) / statistics.mean(around))
    return out


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=10000)
    ap.add_argument("--rtt", type=int, nargs="*", default=[0, 20, 100], help="round trips in ms (0 = loopback)")
    ap.add_argument("--rounds", type=int, default=5,
                    help="loopback: doveadm import and migrate run this many times, interleaved; medians reported")
    ap.add_argument("--baseline-messages", type=int, default=200)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--dir", type=Path, default=None,
                    help="where the work directory goes: the corpus, and the servers' mail with --store here "
                         "(default: a new directory in $TMPDIR)")
    ap.add_argument("--store", choices=["auto", "ext4", "here"], default="auto",
                    help="where the servers keep their mail: a fresh journalled ext4 file system on a loop device "
                         "(auto: when root), or the work directory (see benchmarks/store.py)")
    ap.add_argument("--no-plain", action="store_true", help="skip the loopback run against a Dovecot without TLS")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="migrate-bench-", dir=a.dir))
    os.chmod(work, 0o755)
    src = work / "corpus"
    write_corpus(src, a.messages, seed=1, folders=4)
    for p in [work, *src.rglob("*")]:
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
    bench = Bench(a, work, src)
    try:
        with server_store(work, a.store) as (servers, store_note):
            bench.machine["server_store"] = store_note
            bench.measure(servers)
        bench.summarize()
    finally:
        shutil.rmtree(work, ignore_errors=True)


class Bench:
    """The timed runs of one benchmark and their summary."""

    def __init__(self, a: argparse.Namespace, work: Path, src: Path) -> None:
        self.a, self.work, self.src = a, work, src
        self.count, self.nbytes = corpus_stats(src)
        self.machine: dict[str, object] = {"cpus": os.cpu_count(), "python": platform.python_version(),
                                           "platform": platform.platform(), "storage": str(work)}
        self.dovecot = ""
        self.samples: dict[str, list[dict[str, float]]] = {}

    def keep(self, name: str, r: dict[str, float] | None, messages: int = 0, size: int = 0) -> None:
        if r is not None:
            self.samples.setdefault(name, []).append(
                {"messages": messages or self.count, "bytes": size or self.nbytes, **r})

    def measure(self, servers: Path) -> None:
        """Every timed run, in order: a warm-up, the interleaved loopback rounds, then each link."""
        a, src, work = self.a, self.src, self.work
        plain_sb = None if a.no_plain else DovecotSandbox(servers / "dovecot-plain", starttls=False).start()
        try:
            with DovecotSandbox(servers / "dovecot") as sb:
                self.dovecot = sb.version
                # Warm-up, not counted: the first run after the corpus is written is slower for both.
                bench_doveadm(sb, "warmup-ceiling", src, work)
                bench_migrate(sb, "warmup", sb.imaps_port, src, work, a.connections, a.batch)
                forget(sb, ["warmup-ceiling", "warmup"], work)
                n = 0
                for _ in range(max(1, a.rounds)):  # the noisy pair, interleaved: ceiling, ours, ceiling, ours...
                    n += 1
                    self.keep(CEILING, bench_doveadm(sb, f"ceiling{n}", src, work))
                    self.keep(f"migrate run, {LOOP}", bench_migrate(sb, f"m0r{n}", sb.imaps_port, src, work,
                                                                   a.connections, a.batch))
                    if plain_sb is not None:
                        self.keep(f"migrate run, {LOOP} without TLS",
                                  bench_migrate(plain_sb, f"p0r{n}", plain_sb.imap_port, src, work, a.connections,
                                                a.batch, scheme="imap"))
                        forget(plain_sb, [f"p0r{n}"], work)
                    forget(sb, [f"ceiling{n}", f"m0r{n}"], work)
                n += 1  # one more ceiling: each of our runs is compared with the ceilings before and after it
                self.keep(CEILING, bench_doveadm(sb, f"ceiling{n}", src, work))
                forget(sb, [f"ceiling{n}"], work)
                for rtt in a.rtt:
                    self._link(sb, rtt)
        finally:
            if plain_sb is not None:
                plain_sb.stop()

    def _link(self, sb: DovecotSandbox, rtt: int) -> None:
        """migrate (N and 1 connections), one APPEND at a time and mbsync over one link."""
        a, src, work = self.a, self.src, self.work
        proxy = None
        port = sb.imaps_port
        if rtt:
            proxy = FaultProxy("127.0.0.1", sb.imaps_port, latency_ms=rtt / 2)
            proxy.start()
            port = proxy.port
        try:
            label = LOOP if not rtt else f"{rtt} ms RTT"
            if rtt:
                self.keep(f"migrate run, {label}",
                          bench_migrate(sb, f"m{rtt}", port, src, work, a.connections, a.batch))
            self.keep(f"migrate run --connections 1, {label}",
                      bench_migrate(sb, f"s{rtt}", port, src, work, 1, a.batch))
            limit = a.baseline_messages if rtt else min(self.count, 1000)
            b = bench_baseline(sb, f"b{rtt}", port, src, limit)
            self.keep(f"one APPEND at a time, {label}", b, b.pop("messages"), b.pop("bytes"))
            self.keep(f"mbsync, {label}", bench_mbsync(sb, f"i{rtt}", port, src, work))
            forget(sb, [f"m{rtt}", f"s{rtt}", f"b{rtt}", f"i{rtt}"], work)
            shutil.rmtree(work / f"mbsync-i{rtt}", ignore_errors=True)
        finally:
            if proxy is not None:
                proxy.stop()

    def summarize(self) -> None:
        a, samples = self.a, self.samples
        runs: dict[str, dict[str, float]] = {}
        for name, rs in samples.items():
            rates = [r["messages"] / r["seconds"] for r in rs]
            mid = sorted(range(len(rs)), key=lambda i: rates[i])[len(rs) // 2]  # the median run's own figures
            r = dict(rs[mid])
            r["messages_per_second"] = round(rates[mid], 1)
            r["mb_per_second"] = round(r["bytes"] / r["seconds"] / 1e6, 2)
            if len(rs) > 1:
                r["all_messages_per_second"] = [round(x, 1) for x in rates]
            runs[name] = r
        print(f"corpus: {self.count} messages, {self.nbytes / 1e6:.1f} MB; Dovecot {self.dovecot}; "
              f"{os.cpu_count()} CPUs; servers' mail on {self.machine.get('server_store')}; "
              f"loopback pair: {max(1, a.rounds)} interleaved rounds")
        print(f"{'run':<46} {'msg/s':>8} {'MB/s':>7} {'RSS':>7} {'client':>8} {'server':>8}  (CPU ms/msg)")
        for name, r in runs.items():
            rss = f"{r['rss_kb'] / 1024:.0f} MB" if r.get("rss_kb") else ""
            cpu = [f"{r[k] * 1000 / r['messages']:.3f}" if r.get(k) else "" for k in ("client_cpu", "server_cpu")]
            spread = f"  runs: {', '.join(f'{x:.0f}' for x in r['all_messages_per_second'])}" \
                if "all_messages_per_second" in r else ""
            print(f"{name:<46} {r['messages_per_second']:>8.1f} {r['mb_per_second']:>7.2f} {rss:>7} {cpu[0]:>8} "
                  f"{cpu[1]:>8}{spread}")
        results: dict[str, object] = {"machine": self.machine, "dovecot": self.dovecot,
                                      "corpus": {"messages": self.count, "bytes": self.nbytes}, "runs": runs}
        ratios: dict[str, float] = {}
        for name, key, label in ((f"migrate run, {LOOP}", "loopback_ratio_per_round", "loopback"),
                                 (f"migrate run, {LOOP} without TLS", "loopback_plain_ratio_per_round",
                                  "loopback without TLS")):
            if samples.get(CEILING) and samples.get(name):
                per_round = bracketed(samples[CEILING], samples[name])
                ratios[f"{label}: migrate / doveadm import"] = round(median(per_round), 2)
                results[key] = [round(x, 2) for x in per_round]
        imaps = runs.get(f"migrate run, {LOOP}")
        if imaps and imaps.get("server_cpu") and CEILING in runs:
            # the server's CPU per IMAPS message bounds every IMAPS client on this machine, even one that
            # would cost nothing: all cores busy with the server alone
            bound = (os.cpu_count() or 1) * imaps["messages"] / imaps["server_cpu"]
            ratios["loopback: IMAPS server-CPU bound / doveadm import"] = round(
                bound / runs[CEILING]["messages_per_second"], 2)
            ratios["loopback: migrate / IMAPS server-CPU bound"] = round(imaps["messages_per_second"] / bound, 2)
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
        for key, label in (("loopback_ratio_per_round", "loopback"), ("loopback_plain_ratio_per_round",
                                                                       "loopback without TLS")):
            if key in results:
                print(f"{f'  ({label} ratio, each round)':<56} {results[key]}")
        if a.json:
            a.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
