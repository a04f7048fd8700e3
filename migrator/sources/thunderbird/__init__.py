"""Thunderbird profiles: POP accounts and Local Folders, mbox or maildir store.

Public surface: `ThunderbirdSource` (the reader) and `detect(path) -> bool` (a profile
directory, a directory holding profiles.ini, or profiles.ini itself).
"""

from migrator.sources.thunderbird.reader import ThunderbirdSource, detect

__all__ = ["ThunderbirdSource", "detect"]
