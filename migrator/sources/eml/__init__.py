"""Directories of `.eml` files: Windows Live Mail and Windows Mail stores, undbx output, any
folder of saved messages (read by the composite tree reader, sources/tree.py).

Public surface: `EmlSource` (a tree holding only `.eml` folders) and `detect(path) -> bool`.
"""

from migrator.sources.eml.reader import EmlSource, detect

__all__ = ["EmlSource", "detect"]
