#!/usr/bin/env bash
# Regenerates the admin guide's screenshots (docs/admin-guide/img/) from the real admin:
# a throwaway database and Redis with a demo state, runserver, headless Debian Chromium.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/bootstrap.sh"
if ! command -v chromium >/dev/null 2>&1 && [ -z "${CHROMIUM_PATH:-}" ]; then
    echo "Chromium is needed: apt-get install chromium (or set CHROMIUM_PATH)" >&2
    exit 1
fi
if command -v fc-list >/dev/null 2>&1 && ! fc-list | grep -qi "Noto Color Emoji"; then
    echo "warning: fonts-noto-color-emoji is not installed: emoji in messages will not render" >&2
fi
exec "$ROOT/.venv/bin/python" "$ROOT/scripts/admin_guide_screenshots.py" "$@"
