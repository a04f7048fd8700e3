"""Server sources under test: fill a sandbox Dovecot account, and take the snapshot that proves it
unchanged (IMAP: UIDVALIDITY, UIDNEXT, every UID with its flags, INTERNALDATE and bytes; POP3:
STAT and the UIDL list), read without changing anything (EXAMINE, BODY.PEEK, no RETR)."""

from __future__ import annotations

import hashlib
import poplib
from datetime import datetime, timedelta, timezone
from typing import Any

from tests.support.corpus import Item

JST = timezone(timedelta(hours=9))
T0 = datetime(2021, 3, 4, 5, 6, 7, tzinfo=JST)  # INTERNALDATEs: unlike any Date: header of the corpus


def folder_name(parts: tuple[str, ...]) -> str:
    """The corpus' folder as a mailbox name on the sandbox (separator '/', Inbox is INBOX)."""
    return "INBOX" if parts == ("Inbox",) else "/".join(parts)


def seed_imap(user: Any, items: dict[tuple[str, ...], list[Item]], *, one_folder: str | None = None
              ) -> dict[str, list[tuple[bytes, frozenset[str], datetime]]]:
    """APPEND the corpus to `user` (every folder, or all into `one_folder`), each message with its
    flags (+ \\Deleted when deleted) and an INTERNALDATE of its own (T0 + n minutes, +09:00).
    Returns {mailbox: [(raw, flags, internaldate)]} as appended."""
    c = user.client()
    out: dict[str, list[tuple[bytes, frozenset[str], datetime]]] = {}
    existing = {str(name) for _f, _d, name in c.list_folders()}
    n = 0
    for parts, its in items.items():
        name = one_folder or folder_name(parts)
        for i in range(1, len(name.split("/")) + 1):
            sub = "/".join(name.split("/")[:i])
            if sub not in existing and sub.upper() != "INBOX":
                c.create_folder(sub)
                existing.add(sub)
        for it in its:
            n += 1
            when = T0 + timedelta(minutes=n)
            flags = set(it.flags) | ({"\\Deleted"} if it.deleted else set())
            c.append(name, it.raw, sorted(flags), when)
            out.setdefault(name, []).append((it.raw, frozenset(flags), when))
    return out


def sha(raw: bytes) -> str:
    """SHA-256 of the bytes, hex."""
    return hashlib.sha256(raw).hexdigest()


def snapshot_imap(user: Any) -> dict[str, Any]:
    """{mailbox: (UIDVALIDITY, UIDNEXT, [(uid, flags without \\Recent, INTERNALDATE, sha of BODY[])])}
    read with EXAMINE and BODY.PEEK[] (changes nothing, \\Seen included)."""
    c = user.client()
    out: dict[str, Any] = {}
    for _flags, _delim, name in c.list_folders():
        try:
            info = c.select_folder(name, readonly=True)
        except Exception:  # noqa: BLE001 - \Noselect
            continue
        uids = c.search("ALL")
        data = c.fetch(uids, ["FLAGS", "INTERNALDATE", "BODY.PEEK[]"]) if uids else {}
        msgs = sorted((uid, frozenset(f.decode() for f in d[b"FLAGS"] if f != b"\\Recent"), d[b"INTERNALDATE"],
                       sha(d[b"BODY[]"])) for uid, d in data.items())
        out[str(name)] = (int(info[b"UIDVALIDITY"]), int(info[b"UIDNEXT"]), msgs)
    c.unselect_folder() if out else None
    return out


def snapshot_pop3(user: Any) -> tuple[tuple[int, int], list[bytes]]:
    """(STAT, the UIDL lines) of `user`'s maildrop over pop3s (no RETR, no DELE)."""
    p = poplib.POP3_SSL(user.host, user.sandbox.pop3s_port, context=user.ssl_context())
    try:
        p.user(user.user)
        p.pass_(user.password)
        return p.stat(), p.uidl()[1]
    finally:
        p.quit()


def pop3_url(user: Any, *, stls: bool = False) -> str:
    """pop3s://USER@HOST:PORT (or pop3:// on the STLS port) of a sandbox user."""
    if stls:
        return f"pop3://{user.user}@{user.host}:{user.sandbox.pop3_port}"
    return f"pop3s://{user.user}@{user.host}:{user.sandbox.pop3s_port}"
