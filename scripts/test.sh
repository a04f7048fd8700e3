#!/usr/bin/env bash
# Install dependencies, then run the test suite against a real Dovecot (a missing Dovecot
# fails the run unless MIGRATE_REQUIRE_DOVECOT=0).  Arguments go to pytest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install-deps.sh
MIGRATE_REQUIRE_DOVECOT="${MIGRATE_REQUIRE_DOVECOT:-1}" exec python3 -m pytest -q "$@"
