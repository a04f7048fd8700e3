"""verify's pure parts: matching source messages to server UIDs, classifying what is missing, the
comparison of a deep check, the text rendering (list modes, verdicts) and the self-contained HTML report."""

from __future__ import annotations

import re
import stat
from datetime import UTC, datetime
from pathlib import Path

from migrator.domain.identity import fingerprint, to_crlf
from migrator.domain.models import FolderVerify, Problem, VerifyReport
from migrator.flows.verify import (
    Expected,
    classify_missing,
    compare,
    display_subject,
    match_messages,
    size_chunks,
)
from migrator.journal.state import Row
from migrator.render.html import render_html, write_report
from migrator.render.terminal import problem_line, render_verify, verdict


def _e(n: int, mid: str | None = "auto", size: int = 100, **kw: object) -> Expected:
    return Expected(fingerprint=f"fp{n}", message_id=f"<{n}@x>" if mid == "auto" else mid, size=size,
                    locator=f"/src/Inbox @ byte {n * 100}", subject=f"s{n}", date="2024-01-01T10:00:00+09:00",
                    flags=frozenset({"\\Seen"}), source="Inbox", **kw)  # type: ignore[arg-type]


def _row(n: int, uid: int | None, status: str = "done", uidvalidity: int = 7, **kw: object) -> Row:
    base: dict[str, object] = {
        "id": n, "target": "INBOX", "fingerprint": f"fp{n}", "message_id": f"<{n}@x>", "size": 100,
        "stable_id": f"s{n}", "source_folder": "k", "locator": "", "subject": "", "msg_date": "", "status": status,
        "uidvalidity": uidvalidity, "uid": uid, "uidnext_at_intent": 1, "error": None, "quarantine": None}
    base.update(kw)
    return Row(**base)  # type: ignore[arg-type]


def test_match_by_recorded_uid_then_message_id_and_size():
    exp = [_e(1), _e(2), _e(3), _e(4, mid=None), _e(5, size=200)]
    rows = {"fp1": _row(1, 11), "fp5": _row(5, 15)}
    server = {11: ("<1@x>", 100), 12: ("<2@x>", 100), 13: ("<3@x>", 999), 14: (None, 100), 15: ("<5@x>", 180),
              16: ("<foreign@x>", 50)}
    m = match_messages(exp, rows, server, uidvalidity=7)
    assert [(e.fingerprint, uid) for e, uid in m.matched] == [("fp1", 11), ("fp2", 12)]
    assert [(e.fingerprint, uid, size) for e, uid, size in m.resized] == [("fp5", 15, 180)]
    assert [e.fingerprint for e in m.unmatched] == ["fp3", "fp4"]  # wrong size; no Message-ID (content later)
    assert m.claimed == {11, 12, 15}


def test_match_ignores_uids_of_another_uidvalidity_and_never_claims_twice():
    exp = [_e(1), _e(2, mid="<1@x>")]  # two messages sharing a Message-ID and a size
    rows = {"fp1": _row(1, 11, uidvalidity=6)}  # folder recreated since: the UID means nothing now
    server = {21: ("<1@x>", 100)}
    m = match_messages(exp, rows, server, uidvalidity=7)
    assert [(e.fingerprint, uid) for e, uid in m.matched] == [("fp1", 21)]
    assert [e.fingerprint for e in m.unmatched] == ["fp2"]


def test_recorded_uid_is_claimed_before_message_id_matches():
    # fp2 (no row) shares <1@x> and the size with fp1, whose recorded UID is 12: fp2 must not take 12
    exp = [_e(2, mid="<1@x>"), _e(1)]
    m = match_messages(exp, {"fp1": _row(1, 12)}, {11: ("<1@x>", 100), 12: ("<1@x>", 100)}, uidvalidity=7)
    assert sorted((e.fingerprint, uid) for e, uid in m.matched) == [("fp1", 12), ("fp2", 11)]


def test_classify_missing():
    e = _e(1)
    assert classify_missing(e, _row(1, None, status="failed", error="NO [TOOBIG] too big", quarantine="/q/1.eml"),
                            None, True) == ("!", "failed", "the server refused it: NO [TOOBIG] too big; kept as /q/1.eml")
    assert classify_missing(e, None, "before --since 2020-01-01", True)[:2] == ("~", "kept_local")
    assert classify_missing(e, _row(1, 11), None, True)[:2] == ("-", "missing")
    assert "interrupted" in classify_missing(e, _row(1, None, status="intent"), None, True)[2]
    new = _e(2, settled=True, source_changed=True)
    assert classify_missing(new, None, None, True)[:2] == ("-", "new")
    assert classify_missing(_e(3, settled=True), None, None, True)[:2] == ("-", "missing")
    assert "not migrated yet" in classify_missing(_e(4), None, None, False)[2]
    assert "did not finish" in classify_missing(_e(5), None, None, True)[2]


def test_size_chunks_bounds_bytes_and_count():
    sizes = {1: 5, 2: 5, 3: 20, 4: 1, 5: 1, 6: 1}
    assert list(size_chunks([1, 2, 3, 4, 5, 6], sizes, max_bytes=10, max_count=2)) == [[1, 2], [3], [4, 5], [6]]
    assert list(size_chunks([], sizes)) == []


def test_display_subject_decodes_encoded_words_and_raw_utf8():
    assert display_subject("=?iso-2022-jp?b?GyRCOCtAUT1xGyhC?=") == "見積書"
    assert display_subject("=?utf-8?b?5Y+W5byV5YWI?= news") == "取引先 news"
    assert display_subject("caf\u00c3\u00a9") == "café"  # 8-bit UTF-8 read as latin-1
    assert display_subject(None) == ""
    assert display_subject("=?bogus-charset?q?x?=")  # undecodable: shown as it is, no exception


def test_compare_bytes_flags_and_date():
    raw = b"Subject: a\n\nbody\n"
    e = Expected(fingerprint(to_crlf(raw)), None, len(to_crlf(raw)), "l", "a", "2024-01-01T10:00:00+09:00",
                 frozenset({"\\Seen", "\\Flagged", "$label1"}), "Inbox")
    when = datetime(2024, 1, 1, 1, 0, 0, tzinfo=UTC)
    assert compare(e, to_crlf(raw), frozenset({"\\Seen", "\\Flagged", "\\Recent", "\\Answered"}), when) == []
    assert compare(e, raw, frozenset({"\\Seen", "\\Flagged"}), when) == []  # line ends normalized
    problems = compare(e, raw + b"x", frozenset({"\\Seen"}), datetime(2024, 1, 2, tzinfo=UTC))
    assert problems[0] == "content differs"
    assert problems[1].startswith("flags \\seen instead of \\flagged \\seen")
    assert problems[2].startswith("date on the server 2024-01-02")


def _report(**kw: object) -> VerifyReport:
    folders = [FolderVerify(source="Inbox", target="INBOX", expected=4, present=2, missing=1, new_in_source=1,
                            extra=1, filtered=2),
               FolderVerify(source="取引先/Ａ社", target="取引先/Ａ社", expected=1, present=1, reused=True)]
    problems = [
        Problem(sign="-", kind="missing", folder="Inbox", target="INBOX", locator="/src/Inbox @ byte 0",
                message_id="<1@x>", subject="Hello <b>&", date="2024-01-01T10:00:00+09:00",
                detail="uploaded earlier, now missing on the server"),
        Problem(sign="-", kind="new", folder="Inbox", target="INBOX", locator="/src/Inbox @ byte 900",
                message_id="<9@x>", subject="見積もり", date="2024-02-01T10:00:00+09:00",
                detail="new in the source since the last run: not migrated yet"),
        Problem(sign="=", kind="ok", folder="Inbox", target="INBOX", locator="/src/Inbox @ byte 300",
                subject="fine", date="2024-01-01", detail="on the server (UID 3)", uid=3),
        Problem(sign="+", kind="extra", folder="", target="INBOX", locator="UID 7", message_id="<f@x>",
                detail="on the server, not from this migration (12 bytes)", uid=7),
    ]
    r = VerifyReport(target="imaps://u@127.0.0.1:1993", sources=["/src"], folders=folders, problems=problems,
                     expected=5, present=3, missing=1, new_in_source=1, extra=1, filtered=2, reused_folders=1,
                     generated="2024-03-01T12:00:00+09:00")
    return r.model_copy(update=kw)


def test_render_verify_list_modes():
    r = _report()
    default = render_verify(r)
    assert "- INBOX: \"Hello <b>&\" 2024-01-01 <1@x> [Inbox: /src/Inbox @ byte 0] uploaded earlier" in default
    assert "new in the source since the last run" in default
    assert "\n= " not in default and "\n+ " not in default
    listed = render_verify(r, True)
    assert "\n= INBOX: \"fine\"" in listed and "\n+ INBOX: <f@x> [UID 7] on the server, not from" in listed
    quiet = render_verify(r, False)
    assert "\n- " not in quiet and "checked earlier" in quiet
    assert "Expected on the server: 5 = present 3 + missing 1 + different 0 + new in the source 1" in default


def test_verdicts_say_what_to_do():
    bad = verdict(_report())
    assert bad.startswith("NOT VERIFIED")
    assert "1 new message(s) in the source not yet migrated" in bad and "run `migrate run` again" in bad
    assert "1 message(s) missing on the server" in bad
    full = verdict(_report(quota_used=99, quota_limit=100, problems=[]))
    assert "The account is full" in full
    failed = verdict(_report(missing=0, new_in_source=0, failed_upload=1, quarantine="/s.quarantine", problems=[
        Problem(sign="!", kind="failed", folder="Inbox", target="INBOX", locator="x", quarantine="/s.quarantine/a.eml",
                detail="the server refused it")]))
    assert "the server refused (kept as .eml files in /s.quarantine)" in failed and "import those .eml" in failed
    good = verdict(VerifyReport(target="t", expected=3, present=3, kept_local=2))
    assert good.startswith("VERIFIED: all 3 message(s)")
    for step in ("stop it from downloading", "never deletes mail", "for some days",
                 "`migrate run` and then `migrate verify` again", "remove the POP account", "Keep the backup",
                 "2 message(s) were left"):
        assert step in good
    assert "content of 5% compared" in verdict(VerifyReport(target="t", deep=True, sample=5.0))


def test_problem_line_without_subject_or_source():
    p = Problem(sign="+", kind="extra", folder="", target="INBOX", locator="UID 4", detail="on the server")
    assert problem_line(p) == "+ INBOX: (no subject) [UID 4] on the server"


def test_html_report_is_self_contained_and_escaped():
    html = render_html(_report())
    assert html.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in html
    assert not re.search(r"<script|<link|<img|src=|@import|url\(", html, re.IGNORECASE)
    assert not re.search(r"https?://", html.replace("imaps://u@127.0.0.1:1993", ""))
    assert "Hello &lt;b&gt;&amp;" in html and "Hello <b>" not in html
    assert "NOT VERIFIED" in html and 'id="totals"' in html and "見積もり" in html
    assert 'class="missing" style="width:25.000%"' in html  # 1 of 4 in INBOX's bar
    assert "checked earlier, unchanged" in html
    assert "Every message" in html and "UID 7" in html  # --list lines in their own table
    ok = render_html(VerifyReport(target="t", expected=2, present=2, deep=True, deep_checked=2))
    assert "VERIFIED: every message in scope is on the server" in ok and "None: every message" in ok
    assert "remove the POP account" in ok


def test_write_report_is_private_and_atomic(tmp_path: Path):
    out = tmp_path / "sub" / "verify.html"
    write_report(_report(), out)
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert [p.name for p in out.parent.iterdir()] == ["verify.html"]  # no temporary file left


def test_state_keeps_what_verify_proved(tmp_path: Path):
    from migrator.journal.state import State

    with State.open(tmp_path / "s.db", source_id="src", target_id="tgt") as st:
        assert st.verified("INBOX") is None
        st.set_verified("INBOX", {"key": {"uidnext": 5}, "level": 2})
        st.set_verified("Sent", {"key": {"uidnext": 1}, "level": 0})
        assert st.verified("INBOX") == {"key": {"uidnext": 5}, "level": 2}
        st.forget_verified("INBOX")
        assert st.verified("INBOX") is None and st.verified("Sent") is not None
        st.forget_verified()
        assert st.verified("Sent") is None
