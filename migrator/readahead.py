"""Reading the source ahead of the consumer, in a thread of its own.

A store reader's iterator (file reads, PST conversion, mbox splitting) runs in a background
thread, and each message's wire form and fingerprint are computed there too: file reads and
SHA-256 release the GIL, so they overlap the main thread's journal work and the senders'
TLS writes. What is read ahead is bounded in bytes, so memory stays flat; the consumer sees
the messages in the store's order, and any error the reader raises is raised in the consumer.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from migrator.identity import fingerprint, to_crlf
from migrator.sources.base import MessageRecord
from migrator.sources.common import message_id


@dataclass
class Prepared:
    """A message record with what the scan derives from its bytes."""

    record: MessageRecord
    wire: bytes = b""
    fingerprint: str = ""
    message_id: str | None = None

    @property
    def cost(self) -> int:
        return len(self.record.raw) + (len(self.wire) if self.wire is not self.record.raw else 0) + 256


def prepare(rec: MessageRecord) -> Prepared:
    """The pure per-message work: CRLF bytes, fingerprint, Message-ID (none for a message that
    is not read: unreadable, skipped, or passed over as settled)."""
    if rec.error or rec.skip_reason or rec.extra.get("known"):
        return Prepared(rec)
    wire = to_crlf(rec.raw)
    return Prepared(rec, wire, fingerprint(wire), message_id(rec.raw))


class ReadAhead:
    """Iterate `records` in a background thread, at most `budget` bytes ahead of the consumer.

    `lock` is held whenever the reader advances the store's iterator: a consumer that must
    touch the same store meanwhile (re-reading one message) takes it too. `close()` stops the
    thread (the consumer gave up early); it is called by the scan in every case.
    """

    def __init__(self, records: Iterator[MessageRecord], budget: int = 16 * 1024 * 1024) -> None:
        self.lock = threading.Lock()
        self._records = records
        self._budget = budget
        self._queue: deque[Prepared] = deque()
        self._bytes = 0
        self._done = False
        self._stop = False
        self._error: BaseException | None = None
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="read-ahead", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop:
                with self.lock:
                    rec = next(self._records, None)
                if rec is None:
                    break
                item = prepare(rec)
                with self._cond:
                    while self._queue and self._bytes + item.cost > self._budget and not self._stop:
                        self._cond.wait()
                    if self._stop:
                        break
                    self._queue.append(item)
                    self._bytes += item.cost
                    self._cond.notify_all()
        except BaseException as exc:  # noqa: BLE001 - raised again in the consumer's thread
            self._error = exc
        finally:
            close = getattr(self._records, "close", None)
            if close is not None:
                with self.lock:
                    close()
            with self._cond:
                self._done = True
                self._cond.notify_all()

    def __iter__(self) -> ReadAhead:
        return self

    def __next__(self) -> Prepared:
        with self._cond:
            while not self._queue and not self._done:
                self._cond.wait()
            if self._queue:
                item = self._queue.popleft()
                self._bytes -= item.cost
                self._cond.notify_all()
                return item
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        raise StopIteration

    def close(self) -> None:
        with self._cond:
            self._stop = True
            self._queue.clear()
            self._bytes = 0
            self._cond.notify_all()
        self._thread.join(timeout=30)
