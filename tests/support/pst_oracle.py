"""The independent oracle for the PST tests: what readpst (pst-utils) exports from a PST file."""

from __future__ import annotations

import email
import email.policy
import mailbox
import re
import shutil
import subprocess
from email.message import EmailMessage
from pathlib import Path

READPST = shutil.which("readpst")
# the RTF body that readpst (and Outlook) attach as a file: not an attachment of the mail
RTF_BODY_NAMES = {"rtf-body.rtf", "body.rtf"}


def parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def attachment_names(msg: email.message.Message) -> list[str]:
    return [name for part in msg.walk()
            if part.get_content_type() != "message/rfc822"
            and (name := part.get_filename()) and name not in RTF_BODY_NAMES]


def readpst_export(pst: Path, out: Path) -> list[tuple[str, list[str]]]:
    """(subject, attachment names) of each mail readpst exports (-D: deleted items too)."""
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run([READPST or "readpst", "-D", "-q", "-o", str(out), str(pst)],
                   check=True, capture_output=True, timeout=300)
    found: list[tuple[str, list[str]]] = []
    # readpst 0.6.76 now and then names a folder's file "NAME.mbox00000001" (its clash-avoidance
    # misfires): take those too, or the oracle sees no mail.
    for mbox_path in sorted(p for p in out.rglob("*.mbox*") if p.is_file()):
        for raw_msg in mailbox.mbox(str(mbox_path)):
            raw = raw_msg.as_bytes()
            subject = str(parse(raw)["Subject"] or "")
            # readpst writes filename*= without escaping "@" etc.: read its plain filename="" instead.
            names = [n.decode("utf-8", "replace") for n in re.findall(rb'\n\s+filename="([^"]*)"', raw)]
            found.append((subject, [n for n in names if n not in RTF_BODY_NAMES]))
    return found
