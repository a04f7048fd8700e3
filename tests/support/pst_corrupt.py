"""Build damaged PST files for tests: find where a node's data lives and overwrite it.

Reads the node and block B-trees (NBT/BBT) of a Unicode (64-bit, 512-byte page) PST, as
[MS-PST] 2.2.2.6 (HEADER/ROOT), 2.2.2.7.7 (BTPAGE), 2.2.2.7.7.4 (NBTENTRY, BBTENTRY) describe.
ANSI and 4K-page files are not handled (the tests use Unicode fixtures).
"""

from __future__ import annotations

import struct
from pathlib import Path

PAGE = 512
PTYPE_BBT, PTYPE_NBT = 0x80, 0x81
NID_TYPE_HIERARCHY_TABLE, NID_TYPE_CONTENTS_TABLE = 0x0D, 0x0E


class PstLayout:
    """nid -> (data bid, sub-node bid) and bid -> (file offset, size), from the file's B-trees."""

    def __init__(self, data: bytes) -> None:
        if data[:4] != b"!BDN" or struct.unpack_from("<H", data, 10)[0] < 23:
            raise ValueError("not a Unicode PST")
        self.data = data
        nbt_ib = struct.unpack_from("<Q", data, 0xE0)[0]
        bbt_ib = struct.unpack_from("<Q", data, 0xF0)[0]
        self.nodes: dict[int, tuple[int, int]] = {}
        self.blocks: dict[int, tuple[int, int]] = {}
        self._walk(nbt_ib, PTYPE_NBT)
        self._walk(bbt_ib, PTYPE_BBT)

    def _walk(self, ib: int, ptype: int) -> None:
        page = self.data[ib:ib + PAGE]
        count, _max, size, level = page[488], page[489], page[490], page[491]
        assert page[496] == ptype, f"page at {ib} is type {page[496]:#x}, not {ptype:#x}"
        for i in range(count):
            off = i * size
            if level > 0:
                _key, _bid, child = struct.unpack_from("<QQQ", page, off)
                self._walk(child, ptype)
            elif ptype == PTYPE_NBT:
                nid, bid_data, bid_sub = struct.unpack_from("<QQQ", page, off)
                self.nodes[nid & 0xFFFFFFFF] = (bid_data, bid_sub)
            else:
                bid, block_ib, cb = struct.unpack_from("<QQH", page, off)
                self.blocks[bid & ~1] = (block_ib, cb)

    def node_entry(self, nid: int) -> int:
        """File offset of the node's NBTENTRY (its descriptor) in a leaf page of the NBT."""
        return self._find_entry(struct.unpack_from("<Q", self.data, 0xE0)[0], nid)

    def _find_entry(self, ib: int, nid: int) -> int:
        page = self.data[ib:ib + PAGE]
        count, size, level = page[488], page[490], page[491]
        for i in range(count):
            off = i * size
            if level > 0:
                found = self._find_entry(struct.unpack_from("<QQQ", page, off)[2], nid)
                if found >= 0:
                    return found
            elif struct.unpack_from("<Q", page, off)[0] & 0xFFFFFFFF == nid:
                return ib + off
        return -1

    def data_block(self, nid: int) -> tuple[int, int]:
        """(file offset, size in bytes) of the node's data block (its first block, for an XBLOCK)."""
        bid = self.nodes[nid][0]
        return self.blocks[bid & ~1]


def damage_node(src: Path, dest: Path, nid: int, length: int = 64) -> int:
    """Copy src to dest with the first `length` bytes of node `nid`'s data block overwritten; returns the offset."""
    data = bytearray(src.read_bytes())
    offset, size = PstLayout(bytes(data)).data_block(nid)
    n = min(length, size)
    data[offset:offset + n] = bytes((0xA5 ^ (i * 37)) & 0xFF for i in range(n))
    dest.write_bytes(bytes(data))
    return offset


def damage_descriptor(src: Path, dest: Path, nid: int) -> None:
    """Copy src to dest with node `nid`'s descriptor (NBTENTRY) pointing at a block that does not exist."""
    data = bytearray(src.read_bytes())
    entry = PstLayout(bytes(data)).node_entry(nid)
    assert entry >= 0, f"node {nid:#x} not in the NBT"
    struct.pack_into("<Q", data, entry + 8, 0x7FFFFFF0)  # bidData
    dest.write_bytes(bytes(data))


def contents_table(folder_nid: int) -> int:
    """The NID of a folder's contents table (the list of its items), [MS-PST] 2.2.2.1."""
    return (folder_nid & ~0x1F) | NID_TYPE_CONTENTS_TABLE


def hierarchy_table(folder_nid: int) -> int:
    """The NID of a folder's hierarchy table (the list of its sub-folders)."""
    return (folder_nid & ~0x1F) | NID_TYPE_HIERARCHY_TABLE


def _crc32_pst(data: bytes) -> int:
    """[MS-PST] 5.3 CRC: the CRC-32 table, started at 0, no final inversion."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xEDB88320 if crc & 1 else crc >> 1
    return crc


def make_ost(src: Path, dest: Path) -> None:
    """A copy of a Unicode PST that says it is an OST: wMagicClient "SO" ([MS-PST] 2.2.2.6), with
    the header's dwCRCPartial (471 bytes from offset 8) and dwCRCFull (516 bytes) recomputed."""
    data = bytearray(src.read_bytes())
    data[8:10] = b"SO"
    struct.pack_into("<I", data, 4, _crc32_pst(bytes(data[8:8 + 471])))
    struct.pack_into("<I", data, 524, _crc32_pst(bytes(data[8:8 + 516])))
    dest.write_bytes(bytes(data))
