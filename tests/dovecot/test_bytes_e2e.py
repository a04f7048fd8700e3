"""Bytes on the way (issue 15 kind 7) and bytes a server gives back changed (issue 16 kind 1),
against the real Dovecot: what the server returns is the source's bytes except the changes of
docs/concepts.md "Bytes on the way"; NUL bytes go as literal8 when the server offers BINARY and are
reported "stored changed by the server" when it does not, by run, status, plan and verify alike."""

from __future__ import annotations

import imaplib
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from migrator.domain.identity import as_read_back, to_crlf

pytestmark = pytest.mark.dovecot

# Dovecot 2.3's own post-login list, without BINARY: `imap_capability` replaces the whole list
NO_BINARY = ("imap_capability = IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY "
             "THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT "
             "CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES "
             "WITHIN CONTEXT=SEARCH LIST-STATUS MOVE SPECIAL-USE QUOTA LITERAL+\n")


def head(subject: bytes, n: int, eol: bytes = b"\n", mid: bool = True) -> bytes:
    lines = [b"From: a@example.jp", b"To: b@example.jp", b"Subject: " + subject,
             b"Date: Mon, 4 Mar 2024 10:%02d:00 +0900" % n] + ([b"Message-ID: <bytes-%d@example.jp>" % n] if mid else [])
    return eol.join(lines) + eol + eol


LINE_END_CASES = {
    "crcrlf": head(b"bounce", 1, b"\r\n") + b"This is a bounce\r\r\nline two\r\r\n",
    "bare_cr": head(b"bare cr", 2) + b"a\rb inside a line\n",
    "mixed": head(b"mixed", 3) + b"lf\ncrlf\r\ncrcrlf\r\r\nend\n",
    "no_final_eol": head(b"no final newline", 4) + b"last line without end",
    "final_cr": head(b"final cr", 5) + b"cut after CR\r",
    "utf8_8bit": head("件名 UTF-8".encode(), 6) + "本文です\n".encode(),
    "iso2022jp": head(b"=?ISO-2022-JP?B?GyRCN29MPhsoQg==?=", 7) + "こんにちは\n".encode("iso-2022-jp"),
    "shift_jis": head("件名".encode("shift_jis"), 8) + "表示ソフト\n".encode("shift_jis"),  # 0x5C trail bytes
    "no_mid_crcrlf": head(b"no id", 9, b"\r\n", mid=False) + b"x\r\r\ny\r\r\n",
}


def nul_cases() -> dict[str, bytes]:
    return {
        "nul_body": head(b"nul in body", 20) + b"before\x00after\n",
        "nul_header_no_mid": b"Subject: nul\x00header\nFrom: c@example.jp\n\nbody\n",
        "nul_base64_part": (head(b"nul with base64", 21) + b"MIME-Version: 1.0\n"  # BINARY[] decodes parts
                            b"Content-Type: multipart/mixed; boundary=XX\n\n--XX\nContent-Type: text/plain\n"
                            b"Content-Transfer-Encoding: base64\n\naGVsbG8=\n--XX--\n\x00\n").replace(b"\n\nMIME", b"\nMIME", 1),
        "plain": head(b"plain", 22) + b"nothing special\n",
    }


def write_maildir(root: Path, messages: dict[str, bytes]) -> Path:
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for i, (name, raw) in enumerate(messages.items()):
        (root / "cur" / f"{1709500000 + i}.M{i}P1.{name}:2,S").write_bytes(raw)
    return root


def migrate(args: list[str], user, state: Path, env_extra: dict[str, str] | None = None,
            timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "migrator", *args, "--target", user.url_imaps, "--state", str(state),
                           "-q"], env={**os.environ, **user.env, **(env_extra or {})}, capture_output=True, text=True,
                          timeout=timeout, check=False)


def server_bytes(user, folder: str = "INBOX", binary: bool = False) -> list[bytes]:
    """Every message of a folder as BODY.PEEK[] or BINARY.PEEK[] returns it (imaplib reads `~{n}`)."""
    imap = imaplib.IMAP4_SSL(user.host, user.imaps_port, ssl_context=user.ssl_context())
    try:
        imap.login(user.user, user.password)
        imap.select(folder, readonly=True)
        _t, data = imap.uid("SEARCH", "ALL")
        out = []
        for uid in data[0].split():
            _t, got = imap.uid("FETCH", uid.decode(), "(BINARY.PEEK[])" if binary else "(BODY.PEEK[])")
            out.extend(part[1] for part in got if isinstance(part, tuple))
        return out
    finally:
        imap.logout()


def test_line_ends_and_8bit_round_trip_byte_for_byte(tmp_path: Path, imap_user):
    src = write_maildir(tmp_path / "Maildir", LINE_END_CASES)
    state = tmp_path / "s.db"
    r = migrate(["run", str(src)], imap_user, state)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "stored changed" not in r.stdout.lower()
    want = Counter(to_crlf(raw) for raw in LINE_END_CASES.values())
    assert Counter(server_bytes(imap_user)) == want  # BODY[] returns exactly the documented wire form
    assert to_crlf(LINE_END_CASES["crcrlf"]).endswith(b"This is a bounce\r\nline two\r\n")
    assert to_crlf(LINE_END_CASES["bare_cr"]).endswith(b"a\rb inside a line\r\n")
    assert to_crlf(LINE_END_CASES["no_final_eol"]).endswith(b"without end")
    for args in (["verify", str(src)], ["verify", str(src), "--deep"]):
        r = migrate(args, imap_user, state)
        assert r.returncode == 0 and "VERIFIED" in r.stdout, r.stdout + r.stderr
    r = migrate(["run", str(src)], imap_user, state)
    assert r.returncode == 0 and "uploaded 0 " in r.stdout, r.stdout


def test_nul_bytes_go_as_literal8_when_the_server_offers_binary(tmp_path: Path, imap_user):
    cases = nul_cases()
    src = write_maildir(tmp_path / "Maildir", cases)
    state = tmp_path / "s.db"
    r = migrate(["plan", str(src)], imap_user, state)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Holding NUL bytes" in r.stdout and "3 message(s)" in r.stdout and "literal8" in r.stdout, r.stdout
    r = migrate(["run", str(src), "--batch", "10"], imap_user, state)  # one MULTIAPPEND mixing ~{n+} and {n+}
    assert r.returncode == 0, r.stdout + r.stderr
    assert "stored changed" not in r.stdout.lower()
    on_server = server_bytes(imap_user, binary=True)
    for name in ("nul_body", "nul_header_no_mid", "plain"):  # no encoded part: BINARY[] is the message
        assert to_crlf(cases[name]) in on_server, name
    body = server_bytes(imap_user)
    assert as_read_back(to_crlf(cases["nul_base64_part"])) in body  # stored with its NUL (BODY[] shows 0x80)
    for args in (["verify", str(src)], ["verify", str(src), "--deep"]):
        r = migrate(args + ["--json"], imap_user, state)
        rep = json.loads(r.stdout)
        assert r.returncode == 0 and rep["ok"] and rep["changed"] == 0 and rep["present"] == 4, r.stdout
    st = subprocess.run([sys.executable, "-m", "migrator", "status", "--state", str(state)], capture_output=True,
                        text=True, check=False)
    assert st.returncode == 0 and "stored changed" not in st.stdout


def test_nul_bytes_without_binary_are_reported_stored_changed(tmp_path: Path, make_dovecot, make_imap_user):
    sb = make_dovecot(extra_config=NO_BINARY)
    user = make_imap_user(sandbox=sb)
    with user.client() as c:
        assert b"BINARY" not in c.capabilities()
    cases = nul_cases()
    src = write_maildir(tmp_path / "Maildir", cases)
    state = tmp_path / "s.db"
    r = migrate(["plan", str(src)], user, state)
    assert r.returncode == 0 and "Holding NUL bytes" in r.stdout and "store them changed" in r.stdout, r.stdout
    r = migrate(["run", str(src)], user, state)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "In scope: 4 = uploaded 4 " in r.stdout and "Stored changed by the server: 3 of the 4 uploaded" in r.stdout
    assert "NUL byte returned as 0x80" in r.stdout, r.stdout
    st = subprocess.run([sys.executable, "-m", "migrator", "status", "--state", str(state)], capture_output=True,
                        text=True, check=False)
    assert "stored changed by the server: 3" in st.stdout, st.stdout
    for args in (["verify", str(src)], ["verify", str(src), "--deep"]):
        r = migrate(args, user, state)
        assert r.returncode != 0 and "NOT VERIFIED" in r.stdout, r.stdout
        assert "Stored changed by the server: 3" in r.stdout and "NUL byte returned as 0x80" in r.stdout, r.stdout
        assert "run `migrate run` again" not in r.stdout and "delete the damaged copy" not in r.stdout, r.stdout
        rep = json.loads(migrate(args + ["--json"], user, state).stdout)
        assert rep["changed"] == 3 and rep["present"] == 1 and rep["different"] == 0 and not rep["ok"]
        assert sum(1 for p in rep["problems"] if p["kind"] == "changed") == 3
    report = tmp_path / "r.html"
    migrate(["verify", str(src), "--report", str(report)], user, state)
    assert "stored changed by the server" in report.read_text(encoding="utf-8")
    r = migrate(["run", str(src)], user, state)  # nothing sent again: the change would repeat
    assert r.returncode == 0 and "uploaded 0 " in r.stdout, r.stdout
    assert len(server_bytes(user)) == 4


@pytest.mark.parametrize("where,binary", [("sent", True), ("answered", True), ("sent", False)])
def test_crash_during_a_nul_batch_uploads_each_once(tmp_path: Path, make_dovecot, make_imap_user,
                                                    where: str, binary: bool):
    user = make_imap_user() if binary else make_imap_user(sandbox=make_dovecot(extra_config=NO_BINARY))
    cases = nul_cases()
    cases.update({f"nul_{i}": head(b"nul %d" % i, 40 + i, mid=i % 2 == 0) + b"x\x00y %d\n" % i for i in range(4)})
    src = write_maildir(tmp_path / "Maildir", cases)
    state = tmp_path / "s.db"
    base = ["run", str(src), "--connections", "1", "--batch", "3"]
    r = migrate(base, user, state, {"MIGRATE_TEST_CRASH": f"{where}:1"})
    assert r.returncode == 137, r.stdout + r.stderr
    r = migrate(base, user, state)
    assert r.returncode == 0, r.stdout + r.stderr
    got = Counter(server_bytes(user))
    assert got == Counter(as_read_back(to_crlf(raw)) for raw in cases.values()), "each message exactly once"
    r = migrate(["verify", str(src), "--json"], user, state)
    rep = json.loads(r.stdout)
    assert rep["changed"] == (0 if binary else 7) and rep["present"] + rep["changed"] == 8, r.stdout


@pytest.mark.parametrize("how", ["crash", "fresh_state"])
def test_nul_messages_found_on_the_server_count_as_changed(tmp_path: Path, make_dovecot, make_imap_user, how: str):
    """Issue 16 kind 1, without BINARY: a message at risk found on the target (re-established after a
    crash, or by content after a lost journal) was stored changed too: run's summary and --json count
    it `changed`, and status and both verify modes agree."""
    user = make_imap_user(sandbox=make_dovecot(extra_config=NO_BINARY))
    cases = nul_cases()
    cases.update({f"nul_{i}": head(b"nul %d" % i, 40 + i, mid=i % 2 == 0) + b"x\x00y %d\n" % i for i in range(2)})
    src = write_maildir(tmp_path / "Maildir", cases)  # 5 with NUL, 1 plain
    state = tmp_path / "s.db"
    base = ["run", str(src), "--connections", "1", "--batch", "10"]
    if how == "crash":
        r = migrate(base, user, state, {"MIGRATE_TEST_CRASH": "sent:1"})
        assert r.returncode == 137, r.stdout + r.stderr
    else:
        r = migrate(base, user, tmp_path / "first.db")
        assert r.returncode == 0, r.stdout + r.stderr
    r = migrate(base + ["--json"], user, state)
    assert r.returncode == 0, r.stdout + r.stderr
    rep = json.loads(r.stdout)
    assert rep["changed"] == 5 and rep["uploaded"] == 0 and rep["already"] == 6, r.stdout
    r = migrate(base, user, state)
    assert "Stored changed by the server: 5 of the 0 uploaded and 6 already" in r.stdout, r.stdout
    st = subprocess.run([sys.executable, "-m", "migrator", "status", "--state", str(state)], capture_output=True,
                        text=True, check=False)
    assert "stored changed by the server: 5" in st.stdout, st.stdout
    for args in (["verify", str(src)], ["verify", str(src), "--deep"]):
        rep = json.loads(migrate(args + ["--json"], user, state).stdout)
        assert rep["changed"] == 5 and rep["present"] == 1, rep
    assert len(server_bytes(user)) == 6
