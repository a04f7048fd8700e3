"""The Bloom filter in front of a pass's dedupe table (see State.seen_add)."""

from __future__ import annotations


class SeenFilter:
    """A Bloom filter in front of a pass's dedupe table. Nearly every content a pass meets is new,
    and the filter says so for certain without a statement (which costs, per message, more than
    reading the message's headers). Its size is fixed (4 MB) whatever the number of messages:
    with a million of them about 1 in 1,500 new contents still asks the table."""

    BITS = 1 << 25

    def __init__(self) -> None:
        self.bits = bytearray(self.BITS // 8)
        self._mask = self.BITS - 1

    def add(self, target: str, fp: bytes) -> bool:
        """Set the key's three bits; True when all were set already (it may have been added).
        Written out, not looped: this runs for every message."""
        x = int.from_bytes(fp, "little") ^ (hash(target) & 0xFFFF_FFFF_FFFF_FFFF)  # fp: random bytes
        mask = self._mask
        p1, p2, p3 = x & mask, (x >> 25) & mask, (x >> 50) & mask
        i1, m1, i2, m2, i3, m3 = p1 >> 3, 1 << (p1 & 7), p2 >> 3, 1 << (p2 & 7), p3 >> 3, 1 << (p3 & 7)
        bits = self.bits
        if bits[i1] & m1 and bits[i2] & m2 and bits[i3] & m3:
            return True
        bits[i1] |= m1
        bits[i2] |= m2
        bits[i3] |= m3
        return False
