"""Server sources end to end: a second sandbox account as the SOURCE (imaps://, pop3s://, pop3://
with STLS), migrated into another account; the source proven unchanged afterwards (UIDs,
UIDVALIDITY, flags, \\Seen included, INTERNALDATE, bytes; POP3: STAT and UIDL), the read-only rule
checked on the wire (Dovecot's rawlog), and the source's credentials kept apart from the target's."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from datetime import timezone
from pathlib import Path
from typing import Any

import pytest

from tests.support.corpus import Item, msg, sample_items
from tests.support.remote import pop3_url, seed_imap, sha, snapshot_imap, snapshot_pop3

pytestmark = pytest.mark.dovecot


def crlf(b: bytes) -> bytes:
    return re.sub(rb"\r?\n", b"\r\n", b)


def migrate(args: list[str], source: Any, target: Any, state: Path, *, env: dict[str, str | None] | None = None,
            crash: str | None = None) -> subprocess.CompletedProcess[str]:
    """`migrate ARGS --target TARGET --state STATE -q` with both passwords in their own variables:
    in this process (fast), or as a process of its own when it is to crash (MIGRATE_TEST_CRASH)."""
    full: dict[str, str | None] = {"SSL_CERT_FILE": target.cafile, "MIGRATE_PASSWORD": target.password,
                                   "MIGRATE_SOURCE_PASSWORD": source.password, **(env or {})}
    argv = [*args, "--target", target.url_imaps, "--state", str(state), "-q"]
    if crash is not None:
        penv = {k: v for k, v in {**os.environ, **full, "MIGRATE_TEST_CRASH": crash}.items() if v is not None}
        return subprocess.run([sys.executable, "-m", "migrator", *argv], env=penv, capture_output=True, text=True,
                              timeout=120, stdin=subprocess.DEVNULL)
    from migrator.cli import main

    saved = {k: os.environ.get(k) for k in full}
    out, err = io.StringIO(), io.StringIO()
    try:
        for k, v in full.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())


def trust(tmp_path: Path, *cafiles: str | Path) -> dict[str, str]:
    """SSL_CERT_FILE for a source and a target on two sandboxes (each has its own throwaway CA)."""
    bundle = tmp_path / "cas.pem"
    bundle.write_bytes(b"".join(Path(f).read_bytes() for f in cafiles))
    return {"SSL_CERT_FILE": str(bundle)}


def corpus() -> dict[tuple[str, ...], list[Item]]:
    items = sample_items()
    items[("取引先",)].append(Item(msg("keyword", "with a keyword\n", n=20), frozenset({"$label1", "\\Seen"})))
    items[("送信済みアイテム",)] = [Item(msg("送信", "日本語の本文\n", n=21), frozenset({"\\Seen"}))]
    return items


def target_view(user: Any) -> dict[str, Counter[tuple[str, frozenset[str], object]]]:
    """{mailbox: multiset of (sha of bytes, flags, INTERNALDATE in UTC)} of every non-empty mailbox."""
    out: dict[str, Counter[tuple[str, frozenset[str], object]]] = {}
    for name, (_v, _n, msgs) in snapshot_imap(user).items():
        if msgs:
            out[name] = Counter((h, flags, date.astimezone(timezone.utc)) for _uid, flags, date, h in msgs)
    return out


def test_imap_source_every_folder_flags_dates_resume_verify_and_source_unchanged(
        tmp_path: Path, make_imap_user: Callable[..., Any]) -> None:
    source, target = make_imap_user(), make_imap_user()
    seeded = seed_imap(source, corpus())
    before = snapshot_imap(source)
    state = tmp_path / "s.db"
    url = source.url_imaps

    r = migrate(["plan", url, "--json"], source, target, state)
    assert r.returncode == 0, r.stderr
    plan = json.loads(r.stdout)
    assert plan["totals"]["to_upload"] == sum(len(v) for v in seeded.values()) - 1  # the \Deleted one is skipped

    # interrupted: killed right after the 2nd APPEND's answer, before the journal has it
    r = migrate(["run", url, "--batch", "2", "--connections", "1"], source, target, state, crash="answered:2")
    assert r.returncode == 137, r.stdout + r.stderr
    r = migrate(["run", url, "--json"], source, target, state)
    assert r.returncode == 0, r.stdout + r.stderr
    stats = json.loads(r.stdout)
    assert stats["failed"] == 0 and stats["uploaded"] + stats["already"] == plan["totals"]["to_upload"]

    want: dict[str, Counter[tuple[str, frozenset[str], object]]] = {}
    for name, msgs in seeded.items():
        for raw, flags, date in msgs:
            if "\\Deleted" not in flags:
                where = "Sent" if name == "送信済みアイテム" else name  # a sent-mail name: the Sent role
                want.setdefault(where, Counter())[(sha(crlf(raw)), flags, date.astimezone(timezone.utc))] += 1
    assert target_view(target) == want, "every folder (Japanese names too), with its flags and INTERNALDATE, once"

    r = migrate(["run", url, "--json"], source, target, state)
    assert r.returncode == 0 and json.loads(r.stdout)["uploaded"] == 0, r.stdout + r.stderr
    r = migrate(["verify", url], source, target, state)
    assert r.returncode == 0, r.stdout + r.stderr
    assert snapshot_imap(source) == before, "the source account is exactly as it was (\\Seen not set by our reads)"

    # new mail in INBOX, and a folder the server renumbered (new UIDVALIDITY): only the new one goes up
    c = source.client()
    c.append("INBOX", msg("late", "arrived after the run\n", n=30), [], seeded["INBOX"][0][2])
    c.rename_folder("Work & Play", "old")
    c.create_folder("Work & Play")
    c.select_folder("old")
    c.copy(c.search("ALL"), "Work & Play")
    r = migrate(["run", url, "--json"], source, target, state)
    assert r.returncode == 0, r.stdout + r.stderr
    stats = json.loads(r.stdout)
    assert stats["uploaded"] == 2, stats  # the late one, and "old" (a new folder: its one message)
    assert any("renumbered" in w for w in stats["warnings"]), stats["warnings"]
    assert target_view(target)["Work & Play"] == want["Work & Play"], "recognised by content, not uploaded twice"


def test_pop3_source_into_inbox_unread_stable_ids_source_unchanged(
        tmp_path: Path, make_imap_user: Callable[..., Any]) -> None:
    source, target = make_imap_user(), make_imap_user()
    if not source.sandbox.pop3s_port:
        pytest.skip("the sandbox Dovecot serves no POP3 (dovecot-pop3d not installed)")
    seeded = seed_imap(source, corpus(), one_folder="INBOX")["INBOX"]
    before, before_imap = snapshot_pop3(source), snapshot_imap(source)
    state = tmp_path / "s.db"
    url = pop3_url(source)

    r = migrate(["plan", pop3_url(source, stls=True), "--json"], source, target, tmp_path / "stls.db")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["totals"]["to_upload"] == len(seeded)
    r = migrate(["run", url, "--json"], source, target, state)
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads(r.stdout)["uploaded"] == len(seeded)
    got = target_view(target)
    assert list(got) == ["INBOX"], "POP3 has one maildrop: all of it into INBOX"
    assert all(flags == frozenset() for _h, flags, _d in got["INBOX"]), "no flags: unread"
    assert sorted(h for h, _f, _d in got["INBOX"]) == sorted(sha(crlf(raw)) for raw, _f, _d in seeded)

    r = migrate(["run", url, "--json"], source, target, state)
    assert r.returncode == 0 and json.loads(r.stdout)["uploaded"] == 0, "stable ids: nothing read or sent twice"
    r = migrate(["verify", url], source, target, state)
    assert r.returncode == 0, r.stdout + r.stderr

    other = make_imap_user()
    r = migrate(["run", url, "--pop3-folder", "旧サーバー", "--json"], source, other, tmp_path / "o.db")
    assert r.returncode == 0, r.stdout + r.stderr
    assert list(target_view(other)) == ["旧サーバー"]
    assert snapshot_pop3(source) == before, "the maildrop keeps every message and its UIDL"
    assert snapshot_imap(source) == before_imap, "and no flag changed (RETR set no \\Seen)"


def test_pop3_repeated_uidls_fall_back_to_header_hashes(tmp_path: Path, make_dovecot: Callable[..., Any],
                                                        make_imap_user: Callable[..., Any]) -> None:
    """A server whose UIDLs repeat (here every message has the folder's UIDVALIDITY as its UIDL):
    the ids come from the headers and the size, with a warning; a second run still sends nothing."""
    sb = make_dovecot(pop3=True, pop3_uidl_format="%08Xv")
    source, target = make_imap_user(sandbox=sb), make_imap_user()
    items = {("Inbox",): [Item(msg(f"m{i}", f"body {i}\n", n=i)) for i in range(4)]}
    seed_imap(source, items)
    state, env = tmp_path / "s.db", trust(tmp_path, sb.cafile, target.cafile)
    r = migrate(["run", pop3_url(source), "--json"], source, target, state, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    stats = json.loads(r.stdout)
    assert stats["uploaded"] == 4 and any("UIDL another message also has" in w for w in stats["warnings"]), stats
    r = migrate(["run", pop3_url(source), "--json"], source, target, state, env=env)
    assert r.returncode == 0 and json.loads(r.stdout)["uploaded"] == 0, r.stdout


IMAP_READS = {"CAPABILITY", "LIST", "STATUS", "EXAMINE", "LOGOUT", "NOOP", "ID", "ENABLE"}
POP3_READS = {"CAPA", "STAT", "LIST", "UIDL", "TOP", "RETR", "QUIT"}


def _sessions(rawlog: Path) -> list[list[str]]:
    """The commands of each logged session (the client's side, after login), in order."""
    return [f.read_bytes().decode("utf-8", "replace").splitlines() for f in sorted(rawlog.glob("*.in"))]


def test_the_wire_shows_only_reads(tmp_path: Path, make_dovecot: Callable[..., Any],
                                   make_imap_user: Callable[..., Any]) -> None:
    """Dovecot's rawlog of the source account: IMAP only EXAMINE, UID SEARCH and UID FETCH with
    BODY.PEEK (never STORE, EXPUNGE, COPY, MOVE, CREATE, APPEND, SUBSCRIBE, SELECT); POP3 never DELE
    or RSET, every session ends with QUIT, and `plan` sends no RETR."""
    sb = make_dovecot(rawlog=True, pop3=True)
    source, target = make_imap_user(sandbox=sb), make_imap_user()
    seed_imap(source, corpus())
    log = sb.have_rawlog(source.user)
    env = trust(tmp_path, sb.cafile, target.cafile)
    for args in (["plan", source.url_imaps], ["run", source.url_imaps], ["verify", source.url_imaps]):
        r = migrate(args, source, target, tmp_path / "imap.db", env=env)
        assert r.returncode == 0, r.stdout + r.stderr
    r = migrate(["plan", pop3_url(source)], source, make_imap_user(), tmp_path / "pop.db", env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    imap_sessions = [s for s in _sessions(log) if s and s[0].split()[0] not in POP3_READS]
    pop_plan = [s for s in _sessions(log) if s and s[0].split()[0] in POP3_READS]
    assert imap_sessions and pop_plan
    for s in pop_plan:
        assert not any(line.split()[0] in ("RETR", "DELE", "RSET") for line in s), s
    r = migrate(["run", pop3_url(source)], source, make_imap_user(), tmp_path / "pop.db", env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    pop_all = [s for s in _sessions(log) if s and s[0].split()[0] in POP3_READS]
    assert any(line.startswith("RETR") for s in pop_all for line in s)
    for s in pop_all:
        assert {line.split()[0] for line in s} <= POP3_READS, s
        assert s[-1] == "QUIT", s
    for s in imap_sessions:
        for line in s:
            words = line.split()
            verb = words[1].upper() if len(words) > 1 else ""
            if verb == "UID":
                assert words[2].upper() in ("FETCH", "SEARCH"), line
                assert not re.search(r"(?<!\.PEEK)\bBODY\[|\bRFC822(?![.]SIZE)\b|\bBINARY\[", line, re.I), line
            else:
                assert verb in IMAP_READS, line


def test_source_credentials_are_the_sources_own(tmp_path: Path, make_imap_user: Callable[..., Any]) -> None:
    source, target = make_imap_user(), make_imap_user()
    seed_imap(source, {("Inbox",): [Item(msg("one", n=1))]})
    url, state = source.url_imaps, tmp_path / "s.db"
    # no source password: the target's is never tried instead (no terminal to ask: exit 2)
    r = migrate(["plan", url], source, target, state, env={"MIGRATE_SOURCE_PASSWORD": None})
    assert r.returncode == 2 and "MIGRATE_SOURCE_PASSWORD" in r.stderr, r.stderr
    # the target's password is not the source's: the source refuses it (exit 3, says which side)
    r = migrate(["plan", url], source, target, state, env={"MIGRATE_SOURCE_PASSWORD": target.password})
    assert r.returncode == 3 and "source:" in r.stderr and "rejected" in r.stderr, r.stderr
    # a password file works; a password in the URL is refused and never echoed
    pw = tmp_path / "pw"
    pw.write_text(source.password + "\n")
    r = migrate(["plan", url, "--source-password-file", str(pw)], source, target, state,
                env={"MIGRATE_SOURCE_PASSWORD": None})
    assert r.returncode == 0, r.stderr
    r = migrate(["plan", url.replace("@", ":s3cret-pw@", 1)], source, target, state)
    assert r.returncode == 2 and "must not contain a password" in r.stderr and "s3cret-pw" not in r.stderr + r.stdout
    # the certificate is checked as for the target: untrusted CA -> exit 3, the same diagnosis
    r = migrate(["plan", url], source, target, state, env={"SSL_CERT_FILE": "/nonexistent-ca.pem"})
    assert r.returncode == 3 and "source: TLS certificate" in r.stderr and "--source-insecure" in r.stderr, r.stderr


def test_pop3_plan_suggests_imap_on_the_same_host(make_imap_user: Callable[..., Any],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from migrator.sources import open_source

    source = make_imap_user()
    if not source.sandbox.pop3s_port:
        pytest.skip("the sandbox Dovecot serves no POP3 (dovecot-pop3d not installed)")
    monkeypatch.setenv("SSL_CERT_FILE", source.cafile)
    src = open_source(pop3_url(source), password=source.password, preview=True,
                      imap_ports=[("imaps", source.imaps_port)])
    try:
        assert any("also answers IMAP" in w and source.url_imaps in w for w in src.warnings), src.warnings
    finally:
        src.close()
    quiet = open_source(pop3_url(source), password=source.password, preview=True, imap_ports=[("imaps", 1)])
    assert not quiet.warnings


def test_a_quota_too_small_for_a_server_source_is_said_before_any_upload(
        tmp_path: Path, make_imap_user: Callable[..., Any]) -> None:
    """The server source's size (STATUS SIZE) makes `run` check the quota first: nothing is sent."""
    source = make_imap_user()
    seed_imap(source, {("Inbox",): [Item(msg(f"big {i}", "x" * 1500 + "\n", n=i)) for i in range(8)]})
    target = make_imap_user(quota_kb=6)
    r = migrate(["run", source.url_imaps], source, target, tmp_path / "s.db")
    assert r.returncode == 4, r.stdout + r.stderr
    assert not target_view(target), "refused before any APPEND"


def test_archive_keeps_a_server_sources_old_mail_local(tmp_path: Path, make_imap_user: Callable[..., Any],
                                                       monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    """`migrate archive imaps://...` writes what a diet keeps local from the server as an mbox."""
    from migrator.cli import main

    source = make_imap_user()
    seed_imap(source, {("Inbox",): [Item(msg("old one", "kept local\n", n=1))]})
    monkeypatch.setenv("SSL_CERT_FILE", source.cafile)
    monkeypatch.setenv("MIGRATE_SOURCE_PASSWORD", source.password)
    before = snapshot_imap(source)
    code = main(["archive", source.url_imaps, "--until", "2030-01-01", "--to", str(tmp_path / "arch"), "-q"])
    assert code == 0, capsys.readouterr()
    assert b"kept local" in b"".join(p.read_bytes() for p in (tmp_path / "arch").rglob("*") if p.is_file())
    assert snapshot_imap(source) == before
