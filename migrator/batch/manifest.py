"""The batch manifest: one CSV row per mailbox (source -> target), parsed and checked with pydantic.

Format (docs/batch.md): UTF-8 (a BOM, as Excel writes it, is accepted), `,` separated, a header
row on line 1. Required columns `source,target,secret`; optional `provider,since,until,include,
exclude,account_prefix`. `include`/`exclude` hold several folder globs separated by `|`.
`secret` is a reference (`env:NAME`, `file:PATH`, `keyring:SERVICE/USER`: batch/secrets.py),
never the password itself: a `password` column is refused. A row whose first cell starts with
`#` is a comment; blank rows are ignored. Bad rows are reported with their line number
(`RowError`) while the good rows still plan and run.

A mailbox's identity is its job id: a SHA-256 of the resolved source and the target's account
(`user@host:port`), so the same row keeps its journal and its state across edits of the other
rows, re-orderings and re-runs.
"""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from migrator.batch.secrets import check_reference
from migrator.domain.config import TargetConfig, parse_target
from migrator.domain.errors import MigratorError, UsageError
from migrator.domain.filters import Scope, parse_day
from migrator.domain.i18n import _

REQUIRED = ("source", "target", "secret")
OPTIONAL = ("provider", "since", "until", "include", "exclude", "account_prefix", "source_secret")
COLUMNS = REQUIRED + OPTIONAL
PASSWORD_COLUMNS = frozenset({"password", "pass", "passwd", "pwd"})
TRUE_WORDS = frozenset({"1", "yes", "y", "true", "on"})
FALSE_WORDS = frozenset({"", "0", "no", "n", "false", "off"})


def _patterns(value: Any) -> tuple[str, ...]:
    """`a|b|c` -> ("a", "b", "c"), blanks dropped."""
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value if str(v).strip())
    return tuple(p.strip() for p in str(value).split("|") if p.strip())


class Row(BaseModel):
    """One mailbox of the manifest, checked. `line`: its line number in the CSV file (1 = header);
    `base`: the manifest's folder (relative sources and `file:` secrets are resolved from it)."""

    model_config = ConfigDict(frozen=True)

    line: int
    base: str
    source: str
    target: str
    secret: str
    provider: str | None = None
    since: str | None = None
    until: str | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    account_prefix: bool = False
    source_secret: str | None = None  # a server source's password, a reference like `secret`

    @field_validator("source", "target", "secret")
    @classmethod
    def _required(cls, value: str) -> str:
        value = (value or "").strip()
        if not value:
            raise ValueError(_("is empty"))
        return value

    @field_validator("provider", "since", "until", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
        return value or None

    @field_validator("since", "until")
    @classmethod
    def _day(cls, value: str | None) -> str | None:
        if value is not None:
            parse_day(value, "date")
        return value

    @field_validator("include", "exclude", mode="before")
    @classmethod
    def _split(cls, value: Any) -> tuple[str, ...]:
        return _patterns(value)

    @field_validator("account_prefix", mode="before")
    @classmethod
    def _flag(cls, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        word = str(value or "").strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ValueError(_("{value}: expected yes or no (yes: each Thunderbird account's folders under a folder "
                           "named after the account)").format(value=repr(value)))

    @field_validator("secret")
    @classmethod
    def _reference(cls, value: str) -> str:
        check_reference(value)
        return value

    @field_validator("source_secret", mode="before")
    @classmethod
    def _source_reference(cls, value: Any) -> str | None:
        value = str(value or "").strip()
        if value:
            check_reference(value)
        return value or None

    @model_validator(mode="after")
    def _coherent(self) -> Row:
        self.target_config()  # a target that does not parse is this row's error
        self.scope()
        return self

    def source_path(self) -> Path:
        """The source path, relative ones taken from the manifest's folder. URL sources
        (imaps://, pop3s://) are kept as they are: Path of the URL text."""
        if "://" in self.source:
            return Path(self.source)
        p = Path(self.source).expanduser()
        return p if p.is_absolute() else Path(self.base) / p

    def target_config(self, *, timeout: float = 60.0) -> TargetConfig:
        """The target, without its secret (the worker adds it when the job starts)."""
        return parse_target(self.target, timeout=timeout, provider=self.provider)

    def scope(self) -> Scope:
        """The row's scope (dates as UTC days, folder globs)."""
        return Scope(since=parse_day(self.since, "since") if self.since else None,
                     until=parse_day(self.until, "until") if self.until else None,
                     include=self.include, exclude=self.exclude)

    @property
    def job_id(self) -> str:
        """16 hex digits naming this mailbox's job, journal and state: SHA-256 of the resolved
        source and the target account (stable across edits of other rows)."""
        src = self.source if "://" in self.source else str(self.source_path().resolve())
        key = src + "\n" + self.target_config().ident
        return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:16]

    @property
    def host(self) -> str:
        """The target's host, lower-cased (the per-host limits and back-off are kept by it)."""
        return self.target_config().host.lower().rstrip(".")


class RowError(BaseModel):
    """A manifest row that cannot run: its line number and why (one line)."""

    line: int
    reason: str


class Manifest(BaseModel):
    """A parsed manifest: the good rows and the bad ones (each with its line number)."""

    path: str
    rows: list[Row]
    errors: list[RowError]

    def row(self, line: int) -> Row | None:
        """The good row at `line`, else None."""
        return next((r for r in self.rows if r.line == line), None)


def _reason(exc: ValidationError | MigratorError) -> str:
    if isinstance(exc, MigratorError):
        return exc.message + (f" ({exc.hint})" if exc.hint else "")
    parts = []
    for err in exc.errors():
        where = ".".join(str(x) for x in err.get("loc", ()) if x != "__root__")
        msg = str(err.get("msg", "")).removeprefix("Value error, ")
        inner = err.get("ctx", {}).get("error") if isinstance(err.get("ctx"), dict) else None
        if isinstance(inner, MigratorError):
            msg = inner.message + (f" ({inner.hint})" if inner.hint else "")
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts)


def read_manifest(path: Path) -> Manifest:
    """Parse the manifest at `path`. UsageError (exit 2) when the file cannot be read, has no
    header, lacks a required column or has a password column; per-row problems go to `errors`."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise UsageError(_("cannot read the manifest {path}: {reason}").format(path=path, reason=exc.strerror or exc),
                         hint=_("Give the path of the CSV file (header: source,target,secret).")) from exc
    except UnicodeDecodeError as exc:
        raise UsageError(_("the manifest {path} is not UTF-8 text").format(path=path),
                         hint=_("Save it as CSV UTF-8 (Excel: \"CSV UTF-8 (comma delimited)\").")) from exc
    return parse_manifest(text, path)


def parse_manifest(text: str, path: Path) -> Manifest:
    """Parse manifest text (see the module docstring); `path` places relative names."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    header: list[str] | None = None
    rows: list[Row] = []
    errors: list[RowError] = []
    base = str(path.expanduser().resolve().parent)
    for cells in reader:
        line = reader.line_num
        if header is None:
            header = [c.strip().lower() for c in cells]
            _check_header(header, path)
            continue
        if not any(c.strip() for c in cells) or cells[0].lstrip().startswith("#"):
            continue
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header):]):
            errors.append(RowError(line=line, reason=_("{cells} cells for {columns} columns (a comma inside a cell "
                                                       "needs quotes)").format(cells=len(cells), columns=len(header))))
            continue
        data: dict[str, Any] = {name: cells[i] if i < len(cells) else "" for i, name in enumerate(header)
                                if name in COLUMNS}
        try:
            rows.append(Row(line=line, base=base, **data))
        except (ValidationError, MigratorError) as exc:
            errors.append(RowError(line=line, reason=_reason(exc)))
    if header is None:
        raise UsageError(_("the manifest {path} is empty").format(path=path),
                         hint=_("The first line names the columns: source,target,secret."))
    _no_duplicates(rows, errors)
    return Manifest(path=str(path), rows=rows, errors=errors)


def _check_header(header: list[str], path: Path) -> None:
    secret_words = sorted(PASSWORD_COLUMNS.intersection(header))
    if secret_words:
        raise UsageError(_("the manifest {path} has a {column} column: passwords never go in the manifest").format(
            path=path, column=repr(secret_words[0])),
            hint=_("Put each password in a file, an environment variable or the keyring and give its "
                   "reference in the `secret` column (env:NAME, file:PATH, keyring:SERVICE/USER); "
                   "`migrate batch import` does this for imapsync and MigrationWiz lists."))
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise UsageError(_("the manifest {path} lacks the columns {columns} on line 1").format(
            path=path, columns=", ".join(missing)),
            hint=_("The first line names the columns: source,target,secret (optional: {optional}).").format(
                optional=",".join(OPTIONAL)))
    unknown = [c for c in header if c and c not in COLUMNS]
    if unknown:
        raise UsageError(_("the manifest {path} has unknown columns {columns} on line 1").format(
            path=path, columns=", ".join(unknown)),
            hint=_("Known columns: {columns}.").format(columns=",".join(COLUMNS)))


def _no_duplicates(rows: list[Row], errors: list[RowError]) -> None:
    """Two rows with the same source and target would be one mailbox twice: the later is refused."""
    seen: dict[str, int] = {}
    keep: list[Row] = []
    for r in rows:
        first = seen.setdefault(r.job_id, r.line)
        if first != r.line:
            reason = _("the same source and target as line {line}").format(line=first)
            errors.append(RowError(line=r.line, reason=reason))
        else:
            keep.append(r)
    rows[:] = keep
    errors.sort(key=lambda e: e.line)

