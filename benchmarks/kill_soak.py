"""Crash soak (not a CI test: it takes minutes): a large `migrate run` killed with SIGKILL at
random moments, again and again, then run to completion; the server must hold every message
exactly once, checked by hashing what the server returns.

    python benchmarks/kill_soak.py [--messages 50000] [--kills 8] [--seed 1]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT))

from dovecot_sandbox import DovecotSandbox  # noqa: E402

from benchmarks.memory import write_small_maildir  # noqa: E402


def norm(raw: bytes) -> str:
    return hashlib.sha256(re.sub(rb"\r?\n", b"\r\n", raw)).hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=50000)
    ap.add_argument("--kills", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    work = Path(tempfile.mkdtemp(prefix="migrate-soak-"))
    os.chmod(work, 0o755)
    src = work / "src"
    write_small_maildir(src, a.messages)
    want = Counter(norm(p.read_bytes()) for p in (src / "cur").iterdir())
    with DovecotSandbox(work / "dovecot") as sb:
        sb.add_user("soak", "pw")
        env = {**os.environ, "MIGRATE_PASSWORD": "pw", "SSL_CERT_FILE": str(sb.cafile)}
        cmd = [sys.executable, "-m", "migrator", "run", str(src), "--target",
               f"imaps://soak@127.0.0.1:{sb.imaps_port}", "--state", str(work / "s.db"), "-q", "--batch", "50"]
        kills = 0
        for _ in range(a.kills):
            p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.5, 6.0))
            if p.poll() is not None:
                break
            p.send_signal(signal.SIGKILL)
            p.wait()
            kills += 1
        t0 = time.monotonic()
        r = subprocess.run(cmd, env=env, capture_output=True, text=True)
        print(r.stdout.strip().splitlines()[-4] if r.stdout else r.stderr)
        print(f"final run: exit {r.returncode} in {time.monotonic() - t0:.1f} s after {kills} SIGKILLs")
        import imapclient

        c = imapclient.IMAPClient("127.0.0.1", sb.imaps_port, ssl=True,
                                  ssl_context=ssl.create_default_context(cafile=str(sb.cafile)))
        c.login("soak", "pw")
        c.select_folder("INBOX", readonly=True)
        uids = c.search("ALL")
        got: Counter[str] = Counter()
        for i in range(0, len(uids), 2000):
            for d in c.fetch(uids[i:i + 2000], ["BODY.PEEK[]"]).values():
                got[norm(d[b"BODY[]"])] += 1
        c.logout()
        dupes = sum(n - 1 for n in got.values() if n > 1)
        missing = sum((want - got).values())
        print(f"server: {len(uids)} messages for {a.messages} in the source; missing {missing}, duplicated {dupes}")
        print("EXACT" if got == want else "NOT EXACT")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
