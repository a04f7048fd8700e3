"""Deterministic benchmark corpus: a Maildir with sizes like real mail (mostly 2-20 KB text,
about 3% with 100 KB-5 MB attachments).

    python benchmarks/corpus.py OUT_DIR COUNT [--seed N] [--folders K]
"""

from __future__ import annotations

import argparse
import base64
import random
from pathlib import Path

WORDS = ["mail", "migration", "server", "folder", "message", "inbox", "quota", "project", "meeting", "invoice", "report", "schedule", "見積もり", "会議", "資料", "請求書", "お世話になっております", "よろしくお願いします"]


def message(rng: random.Random, n: int) -> bytes:
    day = 1 + n % 28
    month = 1 + (n // 28) % 12
    year = 2012 + (n // 336) % 14
    size = int(rng.lognormvariate(8.6, 0.7))  # median ~5.4 KB
    size = max(1500, min(size, 20000))
    words = " ".join(rng.choice(WORDS) for _ in range(size // 7))
    lines = [words[i:i + 72] for i in range(0, len(words), 72)]
    body = "\n".join(lines) + "\n"
    head = (f"From: Sender {n % 97} <sender{n % 97}@example.jp>\nTo: me@example.jp\n"
            f"Subject: benchmark message {n}\nDate: Mon, {day:02d} {['Jan','Feb','Mar','Apr','May','Jun','Jul','Aug','Sep','Oct','Nov','Dec'][month-1]} {year} 10:{n % 60:02d}:00 +0900\n"
            f"Message-ID: <bench-{n}@example.jp>\nMIME-Version: 1.0\n")
    if rng.random() < 0.03:
        att = rng.randbytes(int(rng.uniform(100_000, 5_000_000)) if rng.random() < 0.2 else int(rng.uniform(100_000, 400_000)))
        b64 = base64.encodebytes(att).decode()
        return (head + 'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain; charset=utf-8\n\n'
                + body + '--b\nContent-Type: application/octet-stream; name="a.bin"\nContent-Transfer-Encoding: base64\n\n'
                + b64 + "--b--\n").encode()
    return (head + "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n" + body).encode()


def write_corpus(out: Path, count: int, seed: int = 1, folders: int = 4) -> int:
    """Write `count` messages into a Maildir++ at `out`; returns the total bytes."""
    rng = random.Random(seed)
    names = [""] + [f".Folder{i}" for i in range(1, folders)]
    for name in names:
        for sub in ("cur", "new", "tmp"):
            (out / name / sub).mkdir(parents=True, exist_ok=True)
    total = 0
    for n in range(count):
        data = message(rng, n)
        total += len(data)
        folder = out / names[n % len(names)]
        flags = "S" if n % 3 else "RS"
        (folder / "cur" / f"{1400000000 + n}.M{n}P1.bench:2,{flags}").write_bytes(data)
    return total


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("count", type=int)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--folders", type=int, default=4)
    a = ap.parse_args()
    total = write_corpus(a.out, a.count, a.seed, a.folders)
    print(f"{a.count} messages, {total / 1e6:.1f} MB in {a.out}")


if __name__ == "__main__":
    main()
