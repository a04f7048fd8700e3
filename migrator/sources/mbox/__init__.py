"""mbox files (mboxo, mboxrd, mboxcl2; LF, CRLF or CR-only line ends) and directory trees of them.

Public surface: `MboxSource` (the reader) and `detect(path) -> bool` (a file that starts like
an mbox: a "From " separator line followed by a header field).
"""

from migrator.sources.mbox.reader import MboxSource
from migrator.sources.mbox.reader import looks_like_mbox as detect

__all__ = ["MboxSource", "detect"]
