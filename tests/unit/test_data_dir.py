"""The default state folder comes from platformdirs, and a journal left where earlier versions kept it
is still found (a resumed run must never start a second journal: exactly once)."""

from __future__ import annotations

import sys
from pathlib import Path

import platformdirs
import pytest

from migrator.domain.config import data_dir, default_state_path, legacy_data_dir, parse_target


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    return tmp_path / "home"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux paths")
def test_linux_state_folder_is_unchanged(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert data_dir() == legacy_data_dir() == home / ".local" / "share" / "migrator"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert data_dir() == legacy_data_dir() == tmp_path / "xdg" / "migrator"


def _moved(monkeypatch: pytest.MonkeyPatch, where: Path) -> None:
    """platformdirs answers as on macOS/Windows: a folder other than the legacy one."""
    monkeypatch.setattr(platformdirs, "user_data_dir", lambda appname, appauthor=None: str(where / appname))


def test_a_journal_in_the_legacy_folder_is_found(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _moved(monkeypatch, tmp_path / "appsupport")
    target = parse_target("imaps://me@example.com@imap.example.com")
    sources = [tmp_path / "mail.mbox"]
    fresh = default_state_path(sources, target)
    assert fresh.parent == tmp_path / "appsupport" / "migrator"  # nothing anywhere yet: the new folder
    old = legacy_data_dir() / fresh.name
    old.parent.mkdir(parents=True)
    old.write_bytes(b"")
    assert default_state_path(sources, target) == old  # an earlier version's journal resumes
    fresh.parent.mkdir(parents=True)
    fresh.write_bytes(b"")
    assert default_state_path(sources, target) == fresh  # the new folder wins once it has one


def test_state_name_depends_on_sources_and_target(home: Path, tmp_path: Path) -> None:
    a = parse_target("imaps://a@example.com@imap.example.com")
    b = parse_target("imaps://b@example.com@imap.example.com")
    one, two = [tmp_path / "x.mbox"], [tmp_path / "y.mbox"]
    names = {default_state_path(s, t).name for s in (one, two) for t in (a, b)}
    assert len(names) == 4
    assert all(n.startswith("state-") and n.endswith(".db") and len(n) == len("state-") + 16 + 3 for n in names)
