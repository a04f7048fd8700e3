"""One counts model: what became of the messages in scope, shared by `run`, `status` and (as they
move onto it) `plan` and `verify`.

Invariant 3 ("nothing is lost silently") is the equation every report prints:

    in scope = uploaded + already + duplicates + failed + over_quota

`in_scope` and `adds_up` are derived here, never stored a second time: a flow counts each
message once, in one outcome, and records separately how many messages its scan put in scope
(`scanned`); `adds_up` compares the two. `changed` qualifies `uploaded` and `already`: every
message of this migration on the target that the server stored changed, whichever outcome
(docs/concepts.md "Bytes on the way"); `skipped` and `filtered` are out of scope.
All `*_bytes` figures are message sizes in bytes as sent (CRLF wire form).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from pydantic import BaseModel, Field, computed_field, model_validator

OUTCOMES = ("uploaded", "already", "duplicates", "failed", "over_quota")  # in scope: exactly one each
_ADDITIVE = ("uploaded", "uploaded_bytes", "already", "duplicates", "failed", "over_quota", "over_quota_bytes",
             "changed", "skipped", "filtered", "filtered_bytes", "scanned")

C = TypeVar("C", bound="Counts")


class Counts(BaseModel):
    """Messages by outcome (counts) with their sizes (bytes). Subclassed by the per-folder and
    per-run models so their JSON keeps the same names (`in_scope`, `uploaded`, ...)."""

    uploaded: int = 0
    uploaded_bytes: int = 0  # bytes
    already: int = 0  # on the target already (an earlier run, or found there by content)
    duplicates: int = 0  # byte-identical to another message of the same target folder: uploaded once
    failed: int = 0  # refused by the server or unreadable in the source (kept in quarantine with a reason)
    over_quota: int = 0  # not uploaded: the server is over quota (NO [OVERQUOTA]); a later run sends them
    over_quota_bytes: int = 0  # bytes, as they would be sent
    changed: int = 0  # of uploaded + already: stored changed by the server (bytes at risk, no BINARY)
    skipped: int = 0  # not in scope: deleted in the source, not a message
    filtered: int = 0  # not in scope: left out by --since/--until/--max-size/--include/--exclude
    filtered_bytes: int = Field(default=0, exclude=True)  # bytes
    scanned: int = Field(default=0, exclude=True)  # put in scope by the scan (what in_scope must equal)

    @model_validator(mode="before")
    @classmethod
    def _scanned_from_in_scope(cls, data: object) -> object:
        """A dump read back (or a caller giving `in_scope`): that figure is what was scanned."""
        if isinstance(data, dict) and "in_scope" in data:
            data = dict(data)
            given = data.pop("in_scope")
            data.setdefault("scanned", given)
        return data

    @computed_field  # type: ignore[prop-decorator]
    @property
    def in_scope(self) -> int:
        """Messages in scope: the sum of the outcomes (each message has exactly one)."""
        return self.uploaded + self.already + self.duplicates + self.failed + self.over_quota

    @property
    def adds_up(self) -> bool:
        """Every message the scan put in scope has exactly one outcome (invariant 3)."""
        return self.scanned == self.in_scope

    def add(self, other: Counts) -> None:
        """Add `other`'s counts and bytes to these (in place)."""
        for name in _ADDITIVE:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def set_counts(self, other: Counts) -> None:
        """Replace these counts by `other`'s (the other fields of a subclass stay)."""
        for name in _ADDITIVE:
            setattr(self, name, getattr(other, name))

    @classmethod
    def total(cls: type[C], parts: Iterable[Counts]) -> C:
        """The sum of `parts` (e.g. a run's folders) as a new model of this class."""
        out = cls()
        for p in parts:
            out.add(p)
        return out


VERIFY_FIELDS = ("expected", "present", "missing", "different", "changed", "extra", "copies", "gone_from_source",
                 "new_in_source", "failed_upload", "kept_local", "filtered", "skipped", "duplicates", "deep_checked")


class VerifyCounts(BaseModel):
    """What `verify` found, per target folder and summed for the report (messages):

        expected = present + missing + different + changed + new_in_source + failed_upload + kept_local

    `changed`: on the server but stored changed by it (bytes it cannot keep, docs/concepts.md
    "Bytes on the way"): never verified. `extra`, `copies`, `gone_from_source` are on the server
    besides what is expected; `filtered`, `skipped` are out of scope; `duplicates` were uploaded
    once; `deep_checked` were compared byte for byte. `ok` is derived, never stored."""

    expected: int = 0
    present: int = 0
    missing: int = 0
    different: int = 0
    changed: int = 0  # stored changed by the server (never verified; a re-run would repeat it)
    extra: int = 0  # on the server, not from this migration
    copies: int = 0  # second copies of this migration's messages (a second writer, a lost journal)
    gone_from_source: int = 0  # uploaded by this migration, no longer in the source (or out of scope)
    new_in_source: int = 0
    failed_upload: int = 0
    kept_local: int = 0
    filtered: int = 0
    skipped: int = 0
    duplicates: int = 0
    deep_checked: int = 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        """Every expected message is on the server with the bytes sent."""
        return (self.missing == 0 and self.different == 0 and self.changed == 0 and self.new_in_source == 0
                and self.failed_upload == 0)

    @property
    def adds_up(self) -> bool:
        """The expected messages are all accounted for by the terms of the equation above."""
        return self.expected == (self.present + self.missing + self.different + self.changed + self.new_in_source
                                 + self.failed_upload + self.kept_local)

    def set_verify_counts(self, parts: Iterable[VerifyCounts]) -> None:
        """Set these counts to the sum of `parts` (a report's folders)."""
        parts = list(parts)
        for name in VERIFY_FIELDS:
            setattr(self, name, sum(getattr(p, name) for p in parts))
