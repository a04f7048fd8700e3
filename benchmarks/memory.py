"""Peak memory against mailbox size (not a test): `migrate run` of N small messages into a
throwaway Dovecot, for several N. Flat means the peak RSS does not grow with N.

    python benchmarks/memory.py [--sizes 10000 50000] [--mbox] [--folders K]
    python benchmarks/memory.py --big-message 10 50 100 [--big-count 1] [--mbox]

With --big-message MB... each run is one source of 200 small messages with --big-count messages
of MB megabytes among them (a base64 attachment, 76-character lines), and the table shows the
peak RSS against the budget of 100 MB plus twice the largest message.

With --folders K the messages are spread over K folders (K mbox files, or K Maildir++
subfolders): a million messages in one server folder measures Dovecot's slowdown on a huge
Maildir more than our memory.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from dovecot_sandbox import DovecotSandbox  # noqa: E402


def write_small_mbox(path: Path, n: int, first: int = 0) -> int:
    """One mbox file with n messages of about 2 KB."""
    body = ("memory benchmark line of text, the same for every message\n" * 30)
    with path.open("w", encoding="ascii") as fh:
        for i in range(first, first + n):
            fh.write(f"From bench@example.jp Mon Jan  1 10:00:00 2018\nFrom: bench@example.jp\nTo: me@example.jp\n"
                     f"Subject: m{i}\nMessage-ID: <mem-{i}@example.jp>\nDate: Mon, 1 Jan 2018 10:00:00 +0000\n\n"
                     f"{i}\n{body}\n")
    return path.stat().st_size


def write_small_maildir(path: Path, n: int, first: int = 0) -> int:
    body = ("memory benchmark line of text, the same for every message\n" * 30)
    for sub in ("cur", "new", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    total = 0
    for i in range(first, first + n):
        data = (f"From: bench@example.jp\nTo: me@example.jp\nSubject: m{i}\nMessage-ID: <mem-{i}@example.jp>\n"
                f"Date: Mon, 1 Jan 2018 10:00:00 +0000\n\n{i}\n{body}").encode()
        (path / "cur" / f"{1500000000 + i}.M{i}P1.mem:2,S").write_bytes(data)
        total += len(data)
    return total


def big_message(i: int, mb: float) -> bytes:
    """A message of about `mb` megabytes (LF line ends): one base64 attachment of 76-character lines."""
    line = (b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0" + b"%02d\n" % (i % 100))
    n = int(mb * 1e6) // len(line)
    head = (f"From: big@example.jp\nTo: me@example.jp\nSubject: big {i}\nMessage-ID: <big-{i}@example.jp>\n"
            f"Date: Mon, 1 Jan 2018 10:00:00 +0000\nMIME-Version: 1.0\n"
            f"Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\nContent-Type: text/plain\n\nsee attached\n"
            f"--b\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n").encode()
    return head + line * n + b"--b--\n"


def write_big(src: Path, mb: float, count: int, mbox: bool, small: int = 200) -> tuple[int, int]:
    """A source of `small` small messages with `count` big ones spread among them: (bytes, messages)."""
    if mbox:
        src.mkdir(parents=True)
        total = write_small_mbox(src / "Inbox", small)
        with (src / "Inbox").open("ab") as fh:
            for k in range(count):
                fh.write(b"From big@example.jp Mon Jan  1 10:00:00 2018\n" + big_message(k, mb) + b"\n")
        total = (src / "Inbox").stat().st_size
        write_small_mbox(src / "After", small, small)  # normal mail after the big ones
        return total + (src / "After").stat().st_size, 2 * small + count
    total = write_small_maildir(src, small)
    for k in range(count):
        data = big_message(k, mb)
        (src / "cur" / f"{1600000000 + k}.M{k}P2.big:2,S").write_bytes(data)
        total += len(data)
    total += write_small_maildir(src, small, small)
    return total, 2 * small + count


def run_migrate(sb: DovecotSandbox, work: Path, src: Path, user: str) -> tuple[float, int]:
    """`migrate run` of `src` into a new account: (seconds, peak RSS in KB)."""
    sb.add_user(user, "pw")
    env = {**os.environ, "MIGRATE_PASSWORD": "pw", "SSL_CERT_FILE": str(sb.cafile)}
    rss_file = work / f"rss-{user}"
    t0 = time.monotonic()
    r = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(rss_file), sys.executable, "-m", "migrator",
                        "run", str(src), "--target", f"imaps://{user}@127.0.0.1:{sb.imaps_port}",
                        "--state", str(work / f"s-{user}.db"), "-q"], env=env, capture_output=True, text=True)
    secs = time.monotonic() - t0
    if r.returncode != 0:
        raise SystemExit(r.stdout + r.stderr)
    return secs, int(rss_file.read_text().split()[-1])


def main_big(a: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="migrate-mem-"))
    os.chmod(work, 0o755)
    rows = []
    with DovecotSandbox(work / "dovecot") as sb:
        for mb in a.big_message:
            src = work / f"big{mb:g}"
            nbytes, n = write_big(src, mb, a.big_count, a.mbox)
            secs, rss = run_migrate(sb, work, src, f"big{int(mb * 10)}")
            rows.append((mb, n, nbytes, secs, rss))
            shutil.rmtree(src)
    kind = "mbox" if a.mbox else "Maildir"
    print(f"{kind}: {a.big_count} big message(s) among {2 * 200} small ones")
    print(f"{'big MB':>8} {'total MB':>9} {'seconds':>8} {'peak RSS':>10} {'budget':>8} {'x big':>6}")
    for mb, _n, nbytes, secs, rss in rows:
        budget = 100 + 2 * mb
        print(f"{mb:>8g} {nbytes / 1e6:>9.1f} {secs:>8.1f} {rss / 1024:>7.0f} MB {budget:>5.0f} MB "
              f"{rss / 1024 / mb:>6.1f}{'' if rss / 1024 <= budget else '  OVER'}")
    shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[10000, 50000])
    ap.add_argument("--mbox", action="store_true", help="one big mbox file instead of a Maildir")
    ap.add_argument("--folders", type=int, default=1, help="spread the messages over this many folders")
    ap.add_argument("--big-message", type=float, nargs="*", metavar="MB",
                    help="instead: a source holding big messages of these sizes among small ones")
    ap.add_argument("--big-count", type=int, default=1, help="with --big-message: how many big messages")
    a = ap.parse_args()
    if a.big_message:
        main_big(a)
        return
    work = Path(tempfile.mkdtemp(prefix="migrate-mem-"))
    os.chmod(work, 0o755)
    rows = []
    with DovecotSandbox(work / "dovecot") as sb:
        for n in a.sizes:
            src = work / f"src{n}"
            per = [n // a.folders + (1 if k < n % a.folders else 0) for k in range(a.folders)]
            starts = [sum(per[:k]) for k in range(a.folders)]
            if a.mbox:
                src.mkdir()
                names = ["Inbox"] + [f"f{k:03d}" for k in range(1, a.folders)]
                nbytes = sum(write_small_mbox(src / name, c, s0) for name, c, s0 in zip(names, per, starts, strict=True))
            else:
                dirs = [src] + [src / f".f{k:03d}" for k in range(1, a.folders)]
                nbytes = sum(write_small_maildir(d, c, s0) for d, c, s0 in zip(dirs, per, starts, strict=True))
            user = f"mem{n}"
            sb.add_user(user, "pw")
            env = {**os.environ, "MIGRATE_PASSWORD": "pw", "SSL_CERT_FILE": str(sb.cafile)}
            rss_file = work / f"rss{n}"
            t0 = time.monotonic()
            r = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(rss_file), sys.executable, "-m", "migrator",
                                "run", str(src), "--target", f"imaps://{user}@127.0.0.1:{sb.imaps_port}",
                                "--state", str(work / f"s{n}.db"), "-q"], env=env, capture_output=True, text=True)
            secs = time.monotonic() - t0
            if r.returncode != 0:
                raise SystemExit(r.stdout + r.stderr)
            rss = int(rss_file.read_text().split()[-1])
            rows.append((n, nbytes, secs, rss))
            shutil.rmtree(src)
    print(f"{'messages':>10} {'MB':>8} {'seconds':>8} {'msg/s':>8} {'peak RSS':>10}")
    for n, nbytes, secs, rss in rows:
        print(f"{n:>10} {nbytes / 1e6:>8.1f} {secs:>8.1f} {n / secs:>8.0f} {rss / 1024:>8.0f} MB")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
