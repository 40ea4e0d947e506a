#!/usr/bin/env bash
# Set the machine up, then start facmon (arguments go to `facmon up`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/setup.sh
exec .venv/bin/facmon up "$@"
