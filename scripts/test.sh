#!/usr/bin/env bash
# Install dependencies, run ruff and mypy, then run the test suite against a real Dovecot (a missing Dovecot
# fails the run unless MIGRATE_REQUIRE_DOVECOT=0).  Arguments go to pytest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install-deps.sh
# lint and types first: a finding fails the run (configuration in pyproject.toml)
python3 -m ruff check .
python3 -m mypy
MIGRATE_REQUIRE_DOVECOT="${MIGRATE_REQUIRE_DOVECOT:-1}" exec python3 -m pytest -q "$@"
