"""Result records the flows return and progress.py renders (pydantic: `--json` is their dump)."""

from __future__ import annotations

from pydantic import BaseModel, Field, computed_field

from migrator.domain.counts import VERIFY_FIELDS, Counts, VerifyCounts


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
    filtered_reasons: dict[str, int] = Field(default_factory=dict)  # reason -> count (before --since, ...)
    unchanged: bool = False  # skipped quickly: the source folder did not change since the last run
    renamed: str = ""  # why the target name differs from the source's (folders.map_stores), "" when it does not


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


class DietOption(BaseModel):
    """One way to make the upload fit: the flags to add, and what it leaves local."""

    flags: str
    what: str
    needed: int  # bytes uploaded with this diet
    fits: bool | None = None
    kept_messages: int = 0
    kept_bytes: int = 0


class QuotaInfo(BaseModel):
    used: int | None = None  # bytes (null: unknown)
    limit: int | None = None
    needed: int | None = None  # bytes this migration uploads (after dedupe and filters, without too-big ones)
    fits: bool | None = None
    suggested_since: str | None = None  # YYYY-MM-DD: `--since` that fits
    margin: float | None = None  # share of the limit kept free
    root: str | None = None  # the binding quota root
    free: int | None = None  # what may be uploaded: limit - margin - used (published size when no QUOTA)
    published: int | None = None  # the provider's advertised mailbox size (servers without QUOTA)
    daily_upload_limit: int | None = None  # the provider's daily upload cap, bytes
    days: int | None = None  # days the upload takes under that cap
    suggested_kept_local: dict[str, object] = Field(default_factory=dict)  # what --since suggested_since keeps local
    options: list[DietOption] = Field(default_factory=list)
    # `run --ignore-quota`: upload the mail dated from this day on (newest first by whole UTC days:
    # the diet's --since, else the newest day), and account the older as over quota (not in the JSON)
    fill_from: str | None = Field(default=None, exclude=True)


class BigMessage(BaseModel):
    """A message larger than the target accepts: listed by `plan` before any upload."""

    folder: str
    target: str
    locator: str
    subject: str = ""
    date: str = ""
    size: int = 0


class Plan(BaseModel):
    target: str
    estimated: bool = False  # run skipped the exact pre-pass: everything fits (totals are not counted)
    folders: list[FolderPlan] = Field(default_factory=list)
    totals: Totals = Field(default_factory=Totals)
    quota: QuotaInfo = Field(default_factory=QuotaInfo)
    kept_local: dict[str, object] = Field(default_factory=dict)
    by_year: dict[str, list[int]] = Field(default_factory=dict)  # year -> [messages, bytes] in scope
    upload_by_year: dict[str, list[int]] = Field(default_factory=dict)  # year -> [messages, bytes] to upload
    max_message_bytes: int | None = None  # APPENDLIMIT or the provider's maximum, whichever is less
    too_big: list[BigMessage] = Field(default_factory=list)  # larger than that (the first 200)
    at_risk: int = 0  # to upload, holding bytes a plain literal cannot carry (NUL: identity.at_risk)
    at_risk_binary: bool | None = None  # the server offers BINARY: they go as literal8 (None: not known)
    at_risk_messages: list[BigMessage] = Field(default_factory=list)  # the first 200 of them
    warnings: list[str] = Field(default_factory=list)


class Failure(BaseModel):
    folder: str
    target: str
    locator: str
    reason: str
    quarantine: str | None = None


class FolderRun(Counts):
    """One source folder's outcome in `run` (counts: domain/counts.py)."""

    source: str
    target: str
    source_key: str = Field(default="", exclude=True)  # flows/plan.py Entry.key: the journal's source_folder


class RunStats(Counts):
    """`migrate run`'s result. The counts are the sum of `folders` (tally), never counted twice."""

    target: str
    state: str
    folders: list[FolderRun] = Field(default_factory=list)
    over_quota_since: str | None = None  # YYYY-MM-DD: `--since` under which the rest fits the free space now
    over_quota_since_messages: int = 0  # of the rest, dated from that day on (they fit)
    over_quota_since_bytes: int = 0
    changed_messages: list[str] = Field(default_factory=list)  # "folder: locator: what changed" (the first 200)
    recovered_intents: int = 0
    reconnects: int = 0
    failures: list[Failure] = Field(default_factory=list)
    interrupted: bool = False
    left: int | None = None  # messages of the sources not reached (an interrupted run; None: not known)
    left_bytes: int | None = None  # their bytes, as stored (an estimate, from the sources' cheap counts)
    seconds: float = 0.0
    warnings: list[str] = Field(default_factory=list)

    @property
    def to_go(self) -> int | None:
        """Messages a run of the same command would still bring over: those not reached and those
        left over quota (None when what was not reached is not known)."""
        return None if self.left is None else self.left + self.over_quota

    def tally(self) -> RunStats:
        """Set the run's counts to the sum of its folders' (call after the uploads settled)."""
        self.set_counts(Counts.total(self.folders))
        return self


class Problem(BaseModel):
    """One line of `verify --list` (rclone `check` style): a message and what became of it."""

    sign: str  # '=' ok, '-' missing on server, '*' differs, '!' error, '+' extra on server, '~' not in scope
    folder: str  # source folder (display path)
    target: str
    locator: str  # where a person finds it in the source (file @ offset, Maildir file name)
    message_id: str | None = None
    subject: str = ""
    date: str = ""
    detail: str = ""
    kind: str = ""  # ok, missing, new, different, failed, unreadable, kept_local, filtered, skipped, extra, ours, copy
    uid: int | None = None  # the server's UID, when it holds the message
    quarantine: str | None = None
    date_source: str = ""  # where `date` (the INTERNALDATE) came from: migrator.domain.dates.DATE_SOURCES


class FolderVerify(VerifyCounts):
    """One target folder (counts and `ok`: domain/counts.py VerifyCounts)."""

    source: str
    target: str
    reused: bool = False  # unchanged since an earlier verify proved it: not checked again
    # expected messages by where their INTERNALDATE came from ("from-line": 12, "date-header": 1 ...)
    date_sources: dict[str, int] = Field(default_factory=dict)


VERIFY_COUNTS = VERIFY_FIELDS  # the summed fields (kept for callers of the older name)


class VerifyReport(VerifyCounts):
    """`migrate verify`'s result: its counts are the sum of `folders` (set_verify_counts)."""

    target: str
    sources: list[str] = Field(default_factory=list)
    state: str = ""
    quarantine: str = ""
    generated: str = ""  # ISO time the verification finished
    seconds: float = 0.0
    folders: list[FolderVerify] = Field(default_factory=list)
    deep: bool = False
    sample: float | None = None  # percent deep-checked, when --sample
    reused_folders: int = 0
    quota_used: int | None = None
    quota_limit: int | None = None
    date_sources: dict[str, int] = Field(default_factory=dict)  # summed over the folders
    problems: list[Problem] = Field(default_factory=list)
    interrupted: bool = False  # stopped (Ctrl-C): `folders` are those checked so far
    left: int | None = None  # source messages not checked yet (None: not known)
    left_bytes: int | None = None  # their bytes, as stored (an estimate from the sources' cheap counts)
    warnings: list[str] = Field(default_factory=list)  # e.g. an --include glob that matches no folder

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        """Every expected message is on the server with the bytes sent, and verify checked them all:
        an interrupted verify proved only the folders it reached, so it is never ok."""
        return VerifyCounts.ok.fget(self) and not self.interrupted  # type: ignore[attr-defined]


class ArchiveFolder(BaseModel):
    source: str
    path: str  # where it went, relative to the archive root
    messages: int = 0
    bytes: int = 0
    oldest: str | None = None
    newest: str | None = None


class ArchiveReport(BaseModel):
    """`migrate archive`: what was written where; the source is only read."""

    to: str
    format: str
    since: str | None = None
    until: str | None = None
    folders: list[ArchiveFolder] = Field(default_factory=list)
    messages: int = 0
    bytes: int = 0
    in_upload_range: int = 0  # not archived: they go to the server
    skipped: int = 0  # deleted in the source and the like
    unreadable: list[str] = Field(default_factory=list)  # locators of messages that could not be read
    warnings: list[str] = Field(default_factory=list)  # e.g. an --include glob that matches no folder


# ---------------------------------------------------------------- `migrate sources`: what a store holds


class FolderInventory(BaseModel):
    """One folder of a store as `migrate sources` shows it (flows/inventory.py). Counts are None
    when the mail was not read (`--no-count`)."""

    folder: str  # the source folder's display path ("Inbox/取引先")
    role: str | None = None  # inbox, sent, drafts, trash, junk, ... (records.ROLES): the store's or the name's
    target: str  # the IMAP folder it goes to on a server with no special-use folders yet ('/' delimiter)
    messages: int | None = None  # messages to migrate (not skipped, readable)
    bytes: int | None = None  # their size as stored, bytes
    skipped: int | None = None  # not migrated: deleted in the store, not a message (calendar item ...)
    unreadable: int | None = None  # could not be read (migrate would count them failed)
    oldest_year: int | None = None  # of the messages' dates (INTERNALDATE policy, UTC)
    newest_year: int | None = None
    estimated: bool = False  # --no-count: messages/bytes are the reader's cheap count (Source.estimate) of
    #                          every record (skipped and unreadable included), not a read


class StoreInventory(BaseModel):
    """One store given to `migrate sources PATH`: its kind (the reader's, sources/__init__.py
    detect_kind), folders and totals (the sums of its folders; None when not counted)."""

    path: str  # as given
    kind: str  # Source.kind: mbox, maildir, thunderbird, pst, ... (every reader open_source knows)
    root: str  # the directory or file the reader opened (a Thunderbird profile for profiles.ini)
    counted: bool = True
    folders: list[FolderInventory] = Field(default_factory=list)
    messages: int | None = None
    bytes: int | None = None
    skipped: int | None = None
    unreadable: int | None = None
    oldest_year: int | None = None
    newest_year: int | None = None
    by_year: dict[str, list[int]] = Field(default_factory=dict)  # "2019" -> [messages, bytes]
    estimated: bool = False  # the totals are cheap counts (see FolderInventory.estimated)
    warnings: list[str] = Field(default_factory=list)  # the reader's remarks (Source.warnings)
    command: str = ""  # the command that migrates it ("migrate run PATH --target imaps://USER@HOST")


class Inventory(BaseModel):
    """`migrate sources PATH...`: every store given, in order (its JSON is the `--json` output)."""

    stores: list[StoreInventory] = Field(default_factory=list)
    counted: bool = True
    messages: int | None = None  # over all stores
    bytes: int | None = None


class StoreAccount(BaseModel):
    """One account of a Thunderbird profile found by `migrate sources` (prefs.js)."""

    name: str
    type: str  # pop3, none (Local Folders), imap, rss, ...
    server: str = ""  # user@host, "" for Local Folders
    store: str = "mbox"  # mbox or maildir
    messages: int | None = None  # live messages (None: not counted)
    deleted: int = 0  # deleted in Thunderbird, not compacted yet: never migrated
    bytes: int | None = None
    migrated: bool = False  # migrated by `migrate run PROFILE` without --account
    reason: str = ""  # why (or why not)


class FoundStore(BaseModel):
    """A mail store `migrate sources` (no PATH) found in a usual place on this machine."""

    kind: str  # pst, ost, thunderbird, becky, windows-live-mail, windows-mail, apple-mail, mbox, maildir, evolution
    name: str  # what a person calls it: "Outlook data file", "Thunderbird profile 'default-release'"
    path: str
    place: str = ""  # the usual place it was found in, as the user's system writes it
    messages: int | None = None  # None: not counted (--no-count, or migrate cannot read it yet)
    bytes: int | None = None  # of the mail (counted), else of the store's files on disk
    default: bool = False  # the profile Thunderbird starts with
    readable: bool = True  # a reader of this migrate opens it (False: found by its marks only)
    command: str = ""  # the command that migrates it
    notes: list[str] = Field(default_factory=list)
    accounts: list[StoreAccount] = Field(default_factory=list)  # a Thunderbird profile's accounts


class Discovery(BaseModel):
    """`migrate sources` without a PATH: the stores found in the usual places of `platform`."""

    platform: str  # windows, macos, linux
    home: str
    looked_in: list[str] = Field(default_factory=list)  # the places searched (that exist or not)
    stores: list[FoundStore] = Field(default_factory=list)


# ---------------------------------------------------------------- `migrate status`: where a migration stands


class FolderStatus(BaseModel):
    """One source folder of a migration, as `migrate status` shows it (flows/status.py)."""

    folder: str  # the source folder's display path
    target: str  # the IMAP folder it goes to
    migrated: int = 0  # uploaded by this migration, confirmed by the server (all runs)
    migrated_bytes: int = 0  # bytes, as sent
    already: int = 0  # already on the server, not uploaded by this migration (found there, or a copy)
    failed: int = 0  # refused by the server or unreadable in the source (kept in quarantine); tried again
    left: int | None = None  # still to upload; None: not known (the folder was not read to its end and
    #                          the source was not given)
    in_source: int | None = None  # messages to migrate in the source folder (counted now, or by the last run)
    over_quota: int = 0  # of `left`: what the last run could not upload for lack of room
    reached: bool = True  # the last run read this folder to its end


class LastRun(BaseModel):
    """The latest `run` of the migration."""

    started: str | None = None  # local time, ISO 8601 with its offset
    finished: str | None = None  # local time; None while running or when it stopped without a word
    outcome: str  # finished, interrupted, over quota, failed, running, stopped (killed or a crash)
    error: str | None = None  # what stopped it (failed)
    uploaded: int = 0  # by this run
    uploaded_bytes: int = 0
    failed: int = 0
    over_quota: int = 0
    over_quota_bytes: int = 0


class StatusReport(BaseModel):
    """`migrate status`: where the migration of `sources` to `target` stands (its JSON is `--json`).
    The totals are the sums of `folders`; `left` is None when any folder's is not known."""

    state: str  # the journal's path
    sources: list[str] = Field(default_factory=list)
    target: str = ""
    counted: bool = False  # `left` comes from counting the source now (else from the journal alone)
    folders: list[FolderStatus] = Field(default_factory=list)
    migrated: int = 0
    migrated_bytes: int = 0
    already: int = 0
    failed: int = 0
    left: int | None = None
    in_source: int | None = None
    over_quota: int = 0
    unsettled: int = 0  # sent while a run stopped, not confirmed yet: the next run settles them (no copy)
    missing: int = 0  # verify found them gone from the server: the next run uploads them again
    changed: int = 0  # on the server, stored changed by it (NUL bytes without BINARY)
    last_run: LastRun | None = None
    done: bool = False  # nothing left, nothing failed
    next: str = ""  # the command to run next ("" when done)
