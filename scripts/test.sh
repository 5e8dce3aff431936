#!/usr/bin/env bash
# Installs the project with its dev tools into .venv and runs the test suite.
# On SQLite by default; set CMS_TEST_DATABASE_URL=postgresql://user@host:5432/any to also run it
# on PostgreSQL (the suite creates and drops its own database there).
# Extra arguments go to pytest: ./scripts/test.sh -k summary -x
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh
ensure_venv ".[dev]"

echo "Running tests on ${CMS_TEST_DATABASE_URL:+PostgreSQL ($CMS_TEST_DATABASE_URL)}${CMS_TEST_DATABASE_URL:-SQLite}"
exec .venv/bin/python -m pytest "$@"
