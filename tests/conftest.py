"""Suite-wide test configuration.

* ``tools/`` is put on ``sys.path`` so tests can ``import dovecot_sandbox, faultproxy``.
* ``MIGRATE_REQUIRE_DOVECOT=1`` (set by CI and scripts/test.sh) turns a missing Dovecot into a
  test failure; otherwise Dovecot tests skip with the reason.  Use :func:`require_dovecot`.
* The suite runs in English (``LANG=C.UTF-8``, no ``LC_ALL``/``LC_MESSAGES``): tests of the Japanese
  text set the locale themselves.
* Fixtures: ``shared_dir`` (``../shared`` beside the repo) and ``pst_fixtures``
  (``../shared/fixtures/pst``), skipping when absent.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

import pytest

REPO = Path(__file__).resolve().parents[1]

# Messages follow the locale (migrator/domain/i18n.py): the suite asserts English text, so it runs
# in English whatever the developer's locale; tests of Japanese ask for it (LANG=ja_JP.UTF-8, --lang ja).
for _var in ("LC_ALL", "LC_MESSAGES"):
    os.environ.pop(_var, None)
os.environ["LANG"] = "C.UTF-8"
TOOLS = REPO / "tools"
if str(TOOLS) not in sys.path:
    sys.path.insert(0, str(TOOLS))


def dovecot_required() -> bool:
    return os.environ.get("MIGRATE_REQUIRE_DOVECOT", "").strip().lower() in ("1", "true", "yes")


def require_dovecot(reason: str) -> NoReturn:
    """Dovecot is unusable: fail when MIGRATE_REQUIRE_DOVECOT=1, skip otherwise."""
    if dovecot_required():
        pytest.fail(f"Dovecot is required (MIGRATE_REQUIRE_DOVECOT=1) but unavailable: {reason}", pytrace=False)
    pytest.skip(f"Dovecot unavailable ({reason}); run scripts/install-deps.sh or set MIGRATE_REQUIRE_DOVECOT=1")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "dovecot: needs a real Dovecot started by the suite")
    config.addinivalue_line("markers", "pst: needs the shared PST fixtures")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` next to the repository (read-only fixtures and references)."""
    path = REPO.parent / "shared"
    if not path.is_dir():
        pytest.skip(f"shared directory {path} not present")
    return path


@pytest.fixture(scope="session")
def pst_fixtures(shared_dir: Path) -> Path:
    """``../shared/fixtures/pst`` (sample PST files)."""
    path = shared_dir / "fixtures" / "pst"
    if not path.is_dir() or not any(path.glob("*.pst")):
        pytest.skip(f"PST fixtures {path} not present")
    return path
