"""Result records the flows return and progress.py renders (pydantic: `--json` is their dump)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class FolderPlan(BaseModel):
    """One source folder: where it goes and what happens to its messages."""

    source: str
    source_key: str = Field(exclude=True)
    origin: str = ""
    target: str
    messages: int = 0  # in scope (not skipped, not filtered)
    bytes: int = 0
    to_upload: int = 0
    upload_bytes: int = 0
    already: int = 0  # on the target already (uploaded by an earlier run, or found there)
    duplicates: int = 0  # byte-identical to another message of the same target folder
    unreadable: int = 0  # could not be read from the source (counted as failed)
    skipped: dict[str, int] = Field(default_factory=dict)  # reason -> count
    filtered: int = 0
    filtered_bytes: int = 0
    oldest: str | None = None
    newest: str | None = None
    too_big: int = 0  # larger than the server accepts
    unchanged: bool = False  # skipped quickly: the source folder did not change since the last run


class Totals(BaseModel):
    folders: int = 0
    messages: int = 0
    bytes: int = 0
    to_upload: int = 0
    upload_bytes: int = 0
    already: int = 0
    duplicates: int = 0
    unreadable: int = 0
    skipped: int = 0
    filtered: int = 0
    filtered_bytes: int = 0


class QuotaInfo(BaseModel):
    used: int | None = None
    limit: int | None = None
    needed: int | None = None
    fits: bool | None = None
    suggested_since: str | None = None
    margin: float | None = None


class Plan(BaseModel):
    target: str
    folders: list[FolderPlan] = Field(default_factory=list)
    totals: Totals = Field(default_factory=Totals)
    quota: QuotaInfo = Field(default_factory=QuotaInfo)
    kept_local: dict[str, object] = Field(default_factory=dict)
    by_year: dict[str, list[int]] = Field(default_factory=dict)  # year -> [messages, bytes] in scope
    warnings: list[str] = Field(default_factory=list)


class Failure(BaseModel):
    folder: str
    target: str
    locator: str
    reason: str
    quarantine: str | None = None


class FolderRun(BaseModel):
    source: str
    target: str
    in_scope: int = 0
    uploaded: int = 0
    uploaded_bytes: int = 0
    already: int = 0
    duplicates: int = 0
    failed: int = 0
    skipped: int = 0
    filtered: int = 0


class RunStats(BaseModel):
    target: str
    state: str
    folders: list[FolderRun] = Field(default_factory=list)
    in_scope: int = 0
    uploaded: int = 0
    uploaded_bytes: int = 0
    already: int = 0
    duplicates: int = 0
    failed: int = 0
    skipped: int = 0
    filtered: int = 0
    recovered_intents: int = 0
    reconnects: int = 0
    failures: list[Failure] = Field(default_factory=list)
    interrupted: bool = False
    seconds: float = 0.0

    @property
    def adds_up(self) -> bool:
        return self.in_scope == self.uploaded + self.already + self.duplicates + self.failed


class Problem(BaseModel):
    sign: str  # '-' missing on server, '*' differs, '!' error, '+' extra on server
    folder: str
    target: str
    locator: str
    message_id: str | None = None
    subject: str = ""
    date: str = ""
    detail: str = ""


class FolderVerify(BaseModel):
    source: str
    target: str
    expected: int = 0
    present: int = 0
    missing: int = 0
    different: int = 0
    extra: int = 0
    new_in_source: int = 0
    failed_upload: int = 0
    filtered: int = 0
    skipped: int = 0
    duplicates: int = 0


class VerifyReport(BaseModel):
    target: str
    folders: list[FolderVerify] = Field(default_factory=list)
    expected: int = 0
    present: int = 0
    missing: int = 0
    different: int = 0
    extra: int = 0
    new_in_source: int = 0
    failed_upload: int = 0
    filtered: int = 0
    skipped: int = 0
    duplicates: int = 0
    deep: bool = False
    problems: list[Problem] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.missing == 0 and self.different == 0 and self.new_in_source == 0 and self.failed_upload == 0
