"""Outlook .pst / .ost files through libpff-python (pypff, imported lazily by the reader).

Public surface: `PstSource` (the reader) and `detect(path) -> bool` (the "!BDN" magic).
"""

from migrator.sources.pst.reader import PstSource, detect

__all__ = ["PstSource", "detect"]
