"""Outlook Express 5/6 `.dbx` folders, read through the external `undbx` tool (no parser of ours).

Public surface: `DbxSource` (the reader), `detect(path) -> bool`, `UNDBX_HINT`.
"""

from migrator.sources.dbx.reader import UNDBX_HINT, DbxSource, detect

__all__ = ["UNDBX_HINT", "DbxSource", "detect"]
