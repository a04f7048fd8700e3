"""Maildir and Maildir++ (Courier, Dovecot): `cur/`, `new/`, `tmp/`; flags in the `:2,` info.

Public surface: `MaildirSource` (the reader) and `detect(path) -> bool` (a Maildir or a
Maildir++ root).
"""

from migrator.sources.maildir.reader import MaildirSource, detect

__all__ = ["MaildirSource", "detect"]
