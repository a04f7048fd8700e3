"""The contract every mail store reader implements: `Source`, and what it declares it can do.

A `Source` lists folders and streams `MessageRecord`s (domain/records.py), one at a time, so
memory stays flat. It never writes to the store: every file is opened read-only, nothing is
locked or touched (invariant 1).

Every reader has the same `messages(folder, *, resume=0, known=None)` signature and declares
`capabilities`; the flows (flows/plan.py's Scanner) ask the declaration, never the object (no
`getattr`/`hasattr`/`inspect.signature` on a source). A reader that cannot do something says so
and gets only the defaults: `resume` 0, `known` None, `reload` never called.

The resume token of a folder (`resume_info`) and the offsets it gives back (`resume_offset`)
are stored in the journal by earlier runs (state.py's source_folder table): their shapes never
change, so journals of earlier versions keep matching. The conformance suite
(tests/contract/test_sources.py) holds every reader to this contract.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from migrator.domain.records import Folder, MessageRecord

# known(stable_id, change detector) -> True when an earlier run settled that message unchanged.
# The change detector is a reader's own integer: the file size in bytes (Maildir), a MAPI
# PR_LAST_MODIFICATION_TIME as a FILETIME integer (PST).
Known = Callable[[str, int], bool]


@dataclass(frozen=True)
class Capabilities:
    """What a reader can do beyond listing folders and streaming messages.

    change_token: `token(folder)` gives a cheap change detector (a string; equal strings mean
        the folder's content is unchanged), so a settled, unchanged folder is not read again.
    resume_offset: `resume_info(folder)` after a complete read gives a JSON-able token, and
        `resume_offset(folder, token)` the byte offset to read on from when the folder only grew
        since (an mbox a mail client appended to); `messages(folder, resume=offset)` reads from it.
    skip_known: `messages(folder, known=fn)` passes over messages that `fn` says are settled:
        records with empty `raw`, extra["known"] = "1" and extra["size"] = the change detector.
    reload: `reload(record)` reads a message that was passed over as known after all.
    """

    change_token: bool = False
    resume_offset: bool = False
    skip_known: bool = False
    reload: bool = False


NO_CAPABILITIES = Capabilities()


@dataclass(frozen=True)
class Estimate:
    """A cheap count of what `messages(folder)` will yield, made without reading the messages (a
    directory listing, a file size, a folder's own count), for progress totals and ETAs.

    messages: the records `messages(folder)` yields (every one: mail, skipped, unreadable); bytes:
    the sum of their `raw` sizes (bytes as stored). None when the reader cannot say.
    messages_exact / bytes_exact: the figure is exactly what `messages(folder)` yields, not an
    estimate (a sample of an mbox, a file size that includes its `From ` lines); the conformance
    suite holds a reader to it.
    """

    messages: int | None
    bytes: int | None
    messages_exact: bool = False
    bytes_exact: bool = False

    @property
    def exact(self) -> bool:
        """Both figures are exact."""
        return self.messages_exact and self.bytes_exact


@runtime_checkable
class Source(Protocol):
    """A read-only mail store (see the module docstring)."""

    kind: str  # "mbox", "maildir", "pst", "thunderbird": part of every journal key, never renamed
    root: Path
    capabilities: Capabilities

    @property
    def warnings(self) -> list[str]:
        """Remarks for the user about the store (not mail, damaged, newer client...), each once."""
        ...

    def folders(self) -> list[Folder]:
        """All folders of the store, parents before children; `Folder.key` unique and stable."""
        ...

    def messages(self, folder: Folder, *, resume: int = 0, known: Known | None = None) -> Iterator[MessageRecord]:
        """Stream the folder's messages in store order, including skipped and unreadable ones.

        resume: a byte offset from `resume_offset` (only when capabilities.resume_offset; 0 reads
            all). known: see capabilities.skip_known (ignored by readers without it).
        Raises nothing for one bad message: it comes as a record with `error`.
        """
        ...

    def token(self, folder: Folder) -> str | None:
        """The folder's change detector (capabilities.change_token), None when unknown."""
        ...

    def estimate(self, folder: Folder) -> Estimate | None:
        """A cheap count of the folder's records and bytes (see `Estimate`), made without reading
        the messages; None when the reader has no cheap way to tell (progress then shows no total
        for the folder). Never raises for an unreadable folder: None, or the one error record."""
        ...

    def resume_info(self, folder: Folder) -> dict[str, object] | None:
        """After a complete read: where it ended, for `resume_offset` (None: cannot resume)."""
        ...

    def resume_offset(self, folder: Folder, info: dict[str, object]) -> int | None:
        """The byte offset to read on from when the folder only grew since `info`; else None."""
        ...

    def reload(self, rec: MessageRecord) -> MessageRecord:
        """The full record of one passed over as known (capabilities.reload)."""
        ...

    def close(self) -> None:
        """Release file handles."""
        ...


class SourceBase:
    """Defaults for a reader without the optional capabilities; a reader overrides what it can do
    and declares it in `capabilities`."""

    kind = ""
    root: Path
    capabilities: Capabilities = NO_CAPABILITIES

    @property
    def warnings(self) -> list[str]:
        """No remarks unless the reader has some."""
        return []

    def token(self, folder: Folder) -> str | None:
        """No change detector: every run reads the folder."""
        return None

    def estimate(self, folder: Folder) -> Estimate | None:
        """No cheap count: progress shows no total for this reader's folders."""
        return None

    def resume_info(self, folder: Folder) -> dict[str, object] | None:
        """No resume token."""
        return None

    def resume_offset(self, folder: Folder, info: dict[str, object]) -> int | None:
        """Never resumes."""
        return None

    def reload(self, rec: MessageRecord) -> MessageRecord:
        """Only readers with capabilities.reload pass messages over; this one never does."""
        raise NotImplementedError(f"{type(self).__name__} does not pass messages over as known")

    def close(self) -> None:
        """Nothing to release."""
        return None
