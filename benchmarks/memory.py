"""Peak memory against mailbox size (not a test): `migrate run` of N small messages into a
throwaway Dovecot, for several N. Flat means the peak RSS does not grow with N.

    python benchmarks/memory.py [--sizes 10000 50000] [--mbox] [--folders K]

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[10000, 50000])
    ap.add_argument("--mbox", action="store_true", help="one big mbox file instead of a Maildir")
    ap.add_argument("--folders", type=int, default=1, help="spread the messages over this many folders")
    a = ap.parse_args()
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
                nbytes = sum(write_small_mbox(src / name, c, s0) for name, c, s0 in zip(names, per, starts))
            else:
                dirs = [src] + [src / f".f{k:03d}" for k in range(1, a.folders)]
                nbytes = sum(write_small_maildir(d, c, s0) for d, c, s0 in zip(dirs, per, starts))
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
