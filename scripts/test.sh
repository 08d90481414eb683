#!/usr/bin/env bash
# Sets everything up and runs the whole test suite.
# Uses DATABASE_URL / REDIS_URL when set (CI: PostgreSQL + Redis); otherwise SQLite + embedded Redis.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
exec "$ROOT/.venv/bin/python" -m pytest "$@"
