#!/usr/bin/env bash
# Prepare a Debian/Ubuntu machine to develop and run facmon; safe to re-run.
#
# Installs the missing Debian packages (Mosquitto, InfluxDB 1.x, venv support), checks that
# python3 is 3.11 or newer, creates .venv and installs facmon into it with its dev tools.
# `setup.sh --for-tests` also installs Chromium, Node.js and PostgreSQL, which the browser tests,
# the dashboard's JavaScript tests and the store contract suite use (the run command needs none).
# The packages may start system mosquitto/influxdb services; facmon never relies on them:
# tests and `facmon up` start their own servers on free ports.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

readonly MIN_PYTHON="3.11"
DEBIAN_PACKAGES=(mosquitto mosquitto-clients influxdb)
if [ "${1:-}" = "--for-tests" ]; then
    # Playwright drives Debian's chromium (no browser download); node runs the dashboard's
    # pure JavaScript modules in the unit tests; the store contract suite runs on a PostgreSQL
    # server of its own (initdb and pg_ctl from the postgresql package).
    DEBIAN_PACKAGES+=(chromium nodejs postgresql)
fi
readonly DEBIAN_PACKAGES

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        echo "setup.sh: installing packages needs root; run as root or install sudo" >&2
        exit 1
    fi
}

is_installed() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = "installed" ]
}

venv_ready() {
    .venv/bin/python -c "" 2>/dev/null
}

# python3 -m venv fails on Debian until python3-venv is installed (it provides ensurepip).
venv_works() {
    local probe status=0
    probe="$(mktemp -d)"
    python3 -m venv "$probe/venv" >/dev/null 2>&1 || status=1
    rm -rf "$probe"
    return "$status"
}

missing_packages() {
    local package
    for package in "${DEBIAN_PACKAGES[@]}"; do
        is_installed "$package" || echo "$package"
    done
    if ! command -v python3 >/dev/null; then
        echo python3
        echo python3-venv
    elif ! venv_ready && ! venv_works; then
        echo python3-venv
    fi
}

install_packages() {
    local packages
    mapfile -t packages < <(missing_packages)
    if [ "${#packages[@]}" -eq 0 ]; then
        return 0
    fi
    echo "setup.sh: installing ${packages[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${packages[@]}"
}

check_python() {
    if ! python3 -c "import sys; sys.exit(sys.version_info < (${MIN_PYTHON/./, }))"; then
        echo "setup.sh: facmon needs Python >= ${MIN_PYTHON}, but python3 is" \
            "$(python3 -V 2>&1). Install a newer python3 (Debian 12 or Ubuntu 24.04 ship one)." >&2
        exit 1
    fi
}

create_venv() {
    if venv_ready; then
        return 0
    fi
    # --clear also repairs a .venv whose interpreter has gone (e.g. after a Python upgrade).
    echo "setup.sh: creating .venv"
    python3 -m venv --clear .venv
}

install_project() {
    echo "setup.sh: installing facmon and its dev tools into .venv"
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e '.[dev]'
}

install_packages
check_python
create_venv
install_project
echo "setup.sh: ready"
