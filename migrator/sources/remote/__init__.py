"""Server sources: an IMAP account (`imap.py`) or a POP3 maildrop (`pop3.py`) read where it is.

`open_remote(url, **options)` is what `sources.open_source` calls for a SOURCE that is a URL
(domain/remote.py `is_remote`); the same plain string works from the CLI, a batch manifest or the
web UI, the password coming from MIGRATE_SOURCE_PASSWORD, a file or the keyring when no terminal
is there to ask.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import SecretStr

from migrator.domain.remote import parse_source_url, source_password
from migrator.sources.base import Source

REMOTE_OPTIONS = frozenset({"password", "source_password_file", "source_insecure", "timeout", "preview",
                            "pop3_folder", "interactive", "imap_ports", "on_plaintext"})


def open_remote(url: str, *, password: SecretStr | str | None = None, source_password_file: Path | None = None,
                source_insecure: bool = False, timeout: float = 60.0, preview: bool = False,
                pop3_folder: str | None = None, interactive: bool | None = None,
                imap_ports: Sequence[tuple[str, int]] | None = None,
                on_plaintext: Callable[[str], None] | None = None) -> Source:
    """Open the server account `url` (imaps://, imap://, pop3s://, pop3://) read-only and log in.

    password: given by the caller (web UI, batch); else source_password() (MIGRATE_SOURCE_PASSWORD,
    `source_password_file`, the keyring, a prompt when `interactive` / stdin is a terminal).
    source_insecure: no certificate check, plaintext allowed. timeout: seconds. preview: for `plan`
    (headers and sizes only; POP3 also looks for IMAP on the host). pop3_folder: the target folder
    of a POP3 maildrop (default INBOX). UsageError (exit 2) for a bad URL or no password;
    TargetError / TlsError / LoginError (exit 3) when the server cannot be reached or refuses."""
    src = parse_source_url(url, insecure=source_insecure, timeout=timeout)
    secret = password if isinstance(password, SecretStr) else SecretStr(password) if password else None
    src = src.model_copy(update={"password": secret or source_password(src, source_password_file,
                                                                      interactive=interactive)})
    if src.protocol == "pop3":
        from migrator.sources.remote.pop3 import IMAP_PORTS, Pop3Source

        return Pop3Source(src, folder=pop3_folder, preview=preview,
                          imap_ports=IMAP_PORTS if imap_ports is None else imap_ports)
    from migrator.sources.remote.imap import ImapSource

    return ImapSource(src, preview=preview, on_plaintext=on_plaintext)
