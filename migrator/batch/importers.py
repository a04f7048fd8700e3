"""`migrate batch import`: an imapsync list or a MigrationWiz bulk CSV -> a manifest without passwords.

- imapsync (`examples/file.txt` of imapsync): `host1;user1;password1;host2;user2;password2;[options;]`
  per line, `#` comments; the trailing `;` absorbs a CRLF. The source becomes the IMAP URL
  `imaps://user1@host1` (an IMAP-to-IMAP copy: it needs the IMAP source reader), the target
  `imaps://user2@host2`; the extra imapsync options are not carried over (named in a note).
- MigrationWiz Bulk Add CSV: `Source Email, Source Login Name, Source Password, Destination
  Email, Destination Login Name, Destination Password, Flags` (BitTitan's column names; the
  login columns fall back to the e-mail). The destination's host is not in the file: the
  target is the destination login and `provider` is left for you (or recognised from the
  domain: gmail.com, outlook.com, ...). The source is `--source-root/<source email>` when
  given (the exports of each mailbox), else the source email as an `imaps://` placeholder.

The passwords of the target (and the source, for the IMAP source) go to private files
(`<manifest>.secrets/line-N.target`, mode 0600, in a 0700 folder) referenced as `file:`, or to
the OS keyring (service `migrate-batch`) referenced as `keyring:`; never into the manifest.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from migrator.domain import safefile
from migrator.domain.errors import UsageError
from migrator.domain.i18n import _

KEYRING_SERVICE = "migrate-batch"
MANIFEST_HEADER = ["source", "target", "secret", "provider", "since", "until", "include", "exclude",
                   "account_prefix", "source_secret"]


@dataclass
class Entry:
    """One mailbox read from a list: source, target, the target's password, optional provider, and
    the source's password (an IMAP source) kept beside the target's."""

    line: int
    source: str
    target: str
    password: str
    provider: str = ""
    source_password: str = ""


@dataclass
class Imported:
    """What `import_list` wrote: the manifest, its rows, where the passwords went, notes for the user."""

    manifest: Path
    rows: int
    secrets_dir: Path | None
    notes: list[str] = field(default_factory=list)


def _user_url(scheme: str, user: str, host: str) -> str:
    """`imaps://USER@HOST` with the user's own `@` kept (parse_target splits at the last `@`);
    characters a URL cannot hold (`/`, `?`, `#`, `:`, spaces) percent-encoded."""
    return f"{scheme}://{quote(user, safe='@.+-_~!$&*=')}@{host}"


def read_imapsync(text: str) -> tuple[list[Entry], list[str]]:
    """Entries of an imapsync list and notes (lines skipped, options dropped)."""
    entries: list[Entry] = []
    notes: list[str] = []
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        cells = [c.strip() for c in line.split(";")]
        if len(cells) < 6 or not all(cells[i] for i in (0, 1, 3, 4)):
            notes.append(_("line {n}: not host1;user1;password1;host2;user2;password2; (skipped)").format(n=n))
            continue
        host1, user1, pw1, host2, user2, pw2 = cells[:6]
        extra = [c for c in cells[6:] if c]
        if extra:
            notes.append(_("line {n}: imapsync options not carried over: {options}").format(
                n=n, options=" ".join(extra)))
        if not pw2:
            notes.append(_("line {n}: no password2 (skipped)").format(n=n))
            continue
        entries.append(Entry(line=n, source=_user_url("imaps", user1, host1), target=_user_url("imaps", user2, host2),
                             password=pw2, source_password=pw1))
    if entries:
        notes.append(_("the sources are IMAP accounts (imaps://user1@host1): they need the IMAP source reader "
                       "(`migrate run imaps://...`); the source passwords are stored beside the target's "
                       "(file `.source` / keyring `source:`), for the day it reads them"))
    return entries, notes


def _col(row: dict[str, str], *names: str) -> str:
    low = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
    for n in names:
        if low.get(n):
            return low[n]
    return ""


def read_migrationwiz(text: str, source_root: Path | None) -> tuple[list[Entry], list[str]]:
    """Entries of a MigrationWiz bulk CSV (see the module docstring) and notes."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    entries: list[Entry] = []
    notes: list[str] = []
    if not reader.fieldnames or not any("destination" in (f or "").lower() for f in reader.fieldnames):
        raise UsageError(_("not a MigrationWiz bulk CSV (no Destination Email column)"),
                         hint=_("Export the project's users from MigrationWiz (Bulk Add CSV) and try again."))
    for row in reader:
        n = reader.line_num
        src_email = _col(row, "source email", "source login name")
        dst_email = _col(row, "destination email", "destination login name")
        dst_login = _col(row, "destination login name") or dst_email
        pw = _col(row, "destination password")
        if not dst_email or not pw:
            notes.append(_("line {n}: no destination email or password (skipped)").format(n=n))
            continue
        if source_root is not None and src_email:
            source = str((source_root / src_email).expanduser())
        else:
            source = _user_url("imaps", _col(row, "source login name") or src_email, "SOURCE-HOST")
            notes.append(_("line {n}: fill in the source of {mailbox} (a PST, a profile or a folder)").format(
                n=n, mailbox=src_email or dst_email))
        entries.append(Entry(line=n, source=source, target=dst_login, password=pw,
                             source_password=_col(row, "source password")))
    return entries, notes


def _write_secret(path: Path, value: str) -> None:
    """A private file (0600) holding `value` and a newline; never follows a planted link."""
    safefile.write_bytes(path, (value + "\n").encode("utf-8"))
    os.chmod(path, 0o600)


def import_list(kind: str, file: Path, out: Path | None, store: str, source_root: Path | None) -> Imported:
    """Read `file` (`kind`: imapsync or migrationwiz), write the manifest `out` (default beside the
    file: `<name>.manifest.csv`; never overwritten) and the passwords to private files or the keyring.
    UsageError (exit 2) for an unreadable or empty list, an existing manifest, no keyring package."""
    try:
        text = file.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(_("cannot read {file} as UTF-8 text: {reason}").format(file=file, reason=exc)) from exc
    entries, notes = read_imapsync(text) if kind == "imapsync" else read_migrationwiz(text, source_root)
    if not entries:
        raise UsageError(_("{file}: no mailbox found").format(file=file), hint="; ".join(notes[:3]) or None)
    out = out or file.with_name(file.stem + ".manifest.csv")
    if out.exists():
        raise UsageError(_("{file} exists already").format(file=out),
                         hint=_("Give another name with --out (an existing manifest is never overwritten)."))
    secrets_dir: Path | None = None
    keyring = None
    if store == "keyring":
        try:
            import keyring as keyring_module
        except ImportError as exc:
            raise UsageError(_("--secrets keyring needs the keyring package"),
                             hint=_("Install it: pip install 'pop-migrate[keyring]', or use --secrets file.")) from exc
        keyring = keyring_module
    else:
        secrets_dir = out.with_name(out.stem + ".secrets")
        safefile.private_dir(secrets_dir)
        os.chmod(secrets_dir, 0o700)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(MANIFEST_HEADER)
    for i, e in enumerate(entries, start=1):
        name = f"line-{i + 1}"
        if keyring is not None:
            keyring.set_password(KEYRING_SERVICE, e.target, e.password)
            if e.source_password:
                keyring.set_password(KEYRING_SERVICE, f"source:{e.source}", e.source_password)
            ref = f"keyring:{KEYRING_SERVICE}/{e.target}"
            source_ref = f"keyring:{KEYRING_SERVICE}/source:{e.source}" if e.source_password else ""
        else:
            assert secrets_dir is not None
            _write_secret(secrets_dir / f"{name}.target", e.password)
            if e.source_password:
                _write_secret(secrets_dir / f"{name}.source", e.source_password)
            ref = f"file:{secrets_dir.name}/{name}.target"
            source_ref = f"file:{secrets_dir.name}/{name}.source" if e.source_password else ""
        writer.writerow([e.source, e.target, ref, e.provider, "", "", "", "", "", source_ref])
    safefile.write_bytes(out, buf.getvalue().encode("utf-8"), mode=0o644)
    return Imported(manifest=out, rows=len(entries), secrets_dir=secrets_dir, notes=notes)
