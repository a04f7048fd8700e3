"""Apple Mail stores (`~/Library/Mail/V*`): `.emlx` and `.partial.emlx` messages in `*.mbox`
mailbox directories.

Public surface: `AppleMailSource` (the reader) and `detect(path) -> bool`.
"""

from migrator.sources.applemail.reader import AppleMailSource, detect

__all__ = ["AppleMailSource", "detect"]
