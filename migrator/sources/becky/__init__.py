"""Becky! Internet Mail (RimArts): a data folder of `*.mb` mailboxes, or one mailbox.

Public surface: `BeckySource` (the reader) and `detect(path) -> bool` (a data folder or a `*.mb`
mailbox directory). layout.py reads the directories, bmf.py the message files.
"""

from migrator.sources.becky.layout import detect
from migrator.sources.becky.reader import BeckySource

__all__ = ["BeckySource", "detect"]
