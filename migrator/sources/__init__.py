"""Mail store readers behind one `Source` protocol, and auto-detection of a path's store type."""

from __future__ import annotations

from pathlib import Path

from migrator.domain.errors import SourceError
from migrator.domain.i18n import N_, _
from migrator.domain.records import Folder, MessageRecord
from migrator.domain.remote import is_remote, parse_source_url
from migrator.sources.base import Capabilities, Source

__all__ = ["ACCOUNT_KINDS", "Capabilities", "Folder", "MessageRecord", "Source", "open_source", "detect_kind"]

# Store kinds made of accounts: `--account NAME` picks some, `--account-prefix` keeps them apart.
ACCOUNT_KINDS = ("thunderbird", "becky")


_HINT = N_("Give an mbox file, a Maildir, a directory of mbox or .eml files, a Thunderbird profile, a Becky! "
            "data folder, a .pst file, a Windows Live Mail folder, Apple Mail's Mail folder or an Outlook Express "
            "folder of .dbx files.")


def detect_kind(path: Path | str) -> str:
    """'imap' or 'pop3' for a server source URL (domain/remote.py), else 'pst', 'thunderbird', 'becky',
    'maildir', 'mbox', 'eml', 'applemail' or 'dbx'; SourceError when it is none of them.

    A Becky! data folder or `*.mb` mailbox is 'becky' (before the tree: `.bmf` files are not mbox);
    a directory that is a Maildir (or a Maildir++ root) is 'maildir'; an Apple Mail store (`.emlx`
    in `.mbox` directories) is 'applemail'; a `.dbx` file or a directory of them 'dbx'; a directory
    whose tree holds only `.eml` folders (Windows Live Mail, Windows Mail, saved messages) is 'eml';
    any other directory that holds mbox files, Maildirs or `.eml` folders at any depth is 'mbox'
    (all of these read the whole tree: tree.py)."""
    from migrator.sources import tree
    from migrator.sources.applemail import reader as applemail
    from migrator.sources.becky import layout as becky
    from migrator.sources.dbx import reader as dbx
    from migrator.sources.maildir import reader as maildir
    from migrator.sources.mbox import reader as mbox
    from migrator.sources.thunderbird import reader as thunderbird

    if is_remote(path):
        return parse_source_url(str(path)).protocol
    path = Path(path)
    if not path.exists():
        raise SourceError(_("{path}: no such file or directory").format(path=path))
    if path.is_file():
        try:
            with path.open("rb") as fh:
                head = fh.read(4)
        except OSError as exc:
            raise SourceError(_("{path}: cannot read ({reason})").format(path=path, reason=exc.strerror)) from exc
        if head == b"!BDN":
            return "pst"
        if head == dbx.DBX_MAGIC:
            return "dbx"
        if thunderbird.detect(path):
            return "thunderbird"
        if path.name.lower() == becky.SETTINGS_FILE and becky.detect(path.parent):
            return "becky"  # B2.ini: its folder is the data folder
        if path.suffix.lower() == ".bmf":
            raise SourceError(_("{path}: one message file of a Becky! mailbox").format(path=path),
                              hint=_("Give the Becky! data folder (where B2.ini is) or the mailbox's .mb folder."))
        if mbox.looks_like_mbox(path):
            return "mbox"
        if path.name.lower().endswith(".eml"):
            raise SourceError(_("{path}: one saved message (.eml), not a store").format(path=path),
                              hint=_("Give the folder that holds it: every .eml file there is read, into a folder "
                                     "named after it."))
        if path.name.lower().endswith(".emlx"):
            raise SourceError(_("{path}: one Apple Mail message (.emlx), not a store").format(path=path),
                              hint=_("Give Apple Mail's Mail folder (~/Library/Mail), a V<N> folder in it or a "
                                     "Name.mbox folder."))
        raise SourceError(_("{path}: not a mail store migrate can read").format(path=path), hint=_(_HINT))
    if not path.is_dir():
        raise SourceError(_("{path}: not a file or a directory migrate can read (a FIFO, socket or device)").format(
            path=path))
    if thunderbird.detect(path):
        return "thunderbird"
    if becky.detect(path):  # before the tree: a Becky! data folder's .bmf files are not mbox files
        return "becky"
    if maildir.detect(path):
        return "maildir"
    if applemail.detect(path):
        return "applemail"
    if dbx.detect(path):
        return "dbx"
    found = tree.discover(path)
    kinds = set(found.kinds.values())
    if tree.EML in kinds and kinds <= {tree.EML, tree.UNREADABLE}:
        return "eml"
    if found.folders:
        return "mbox"
    listing = "; ".join(found.notes[:3])
    raise SourceError(
        _("{path}: no mail found here (no mbox files, no Maildir, no .eml files)").format(path=path)
        + (f": {listing}" if listing else ""),
        hint=_(_HINT),
    )


ACCOUNT_OPTIONS = frozenset({"accounts", "account_prefix"})  # of the ACCOUNT_KINDS


def open_source(path: Path | str, **options: object) -> Source:
    """Open `path` read-only as the store type it holds, or the server account a URL names
    (`imaps://USER@HOST`, `pop3s://USER@HOST`: sources/remote/open_remote, logged in).

    options: each kind takes its own and ignores the others: Thunderbird `accounts`,
    `account_prefix`; a server source those of open_remote (password, source_password_file,
    source_insecure, timeout, preview, pop3_folder, interactive). SourceError / UsageError (exit 2),
    TargetError (exit 3) for a server that cannot be reached or refuses the login."""
    if is_remote(path):
        from migrator.sources.remote import REMOTE_OPTIONS, open_remote

        return open_remote(str(path), **{k: v for k, v in options.items() if k in REMOTE_OPTIONS})  # type: ignore[arg-type]
    path = Path(path).expanduser()
    kind = detect_kind(path)
    if kind == "pst":
        from migrator.sources.pst.reader import PstSource

        return PstSource(path)
    if kind == "thunderbird":
        from migrator.sources.thunderbird.reader import ThunderbirdSource

        return ThunderbirdSource(path, **{k: v for k, v in options.items()  # type: ignore[arg-type]
                                          if k in ACCOUNT_OPTIONS})
    if kind == "becky":
        from migrator.sources.becky.reader import BeckySource

        return BeckySource(path, **{k: v for k, v in options.items() if k in ACCOUNT_OPTIONS})  # type: ignore[arg-type]
    if kind == "maildir":
        from migrator.sources.maildir.reader import MaildirSource

        return MaildirSource(path)
    if kind == "eml":
        from migrator.sources.eml.reader import EmlSource

        return EmlSource(path)
    if kind == "applemail":
        from migrator.sources.applemail.reader import AppleMailSource

        return AppleMailSource(path)
    if kind == "dbx":
        from migrator.sources.dbx.reader import DbxSource

        return DbxSource(path)
    from migrator.sources.mbox.reader import MboxSource

    return MboxSource(path)
