#!/usr/bin/env bash
# Sets everything up and runs the admin locally: venv, install, migrate, a demo superuser,
# a small demo 1C package in ONEC_DATA_DIR, embedded Redis when REDIS_URL is unset, dev server.
# IMPORT_RUNNER=queue scripts/dev.sh also runs a worker of the import queue (manage.py import_worker).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-freesport.settings.dev}"
PY="$ROOT/.venv/bin/python"
MANAGE="$ROOT/backend/manage.py"
ADDR="${ADDR:-127.0.0.1:8000}"
ADMIN_USER="${DEMO_ADMIN_USER:-admin}"
ADMIN_PASSWORD="${DEMO_ADMIN_PASSWORD:-admin12345}"

"$PY" "$MANAGE" migrate --no-input
DJANGO_SUPERUSER_PASSWORD="$ADMIN_PASSWORD" "$PY" "$MANAGE" shell --no-imports -c "
from django.contrib.auth import get_user_model
User = get_user_model()
if not User.objects.filter(username='$ADMIN_USER').exists():
    User.objects.create_superuser('$ADMIN_USER', '$ADMIN_USER@example.com', '$ADMIN_PASSWORD')
"
"$PY" "$MANAGE" generate_1c_package --products 200 --pictures --if-empty
echo
echo "  Admin:    http://$ADDR/admin/"
echo "  Login:    $ADMIN_USER / $ADMIN_PASSWORD   (demo superuser; change it outside local use)"
echo "  1C data:  $("$PY" "$MANAGE" shell --no-imports -c 'from django.conf import settings; print(settings.ONEC_DATA_DIR)')"
if [ "${IMPORT_RUNNER:-sync}" = "queue" ]; then
    "$PY" "$MANAGE" import_worker &
    WORKER_PID=$!
    # SIGTERM: the worker lets a running import finish, then exits.
    trap 'kill -TERM "$WORKER_PID" 2>/dev/null; wait "$WORKER_PID" 2>/dev/null' EXIT
    echo "  Imports:  queued (IMPORT_RUNNER=queue); worker pid $WORKER_PID"
    echo
    "$PY" "$MANAGE" runserver "$ADDR"
else
    echo
    exec "$PY" "$MANAGE" runserver "$ADDR"
fi
