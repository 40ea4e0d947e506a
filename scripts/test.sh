#!/usr/bin/env bash
# The one test command: what .ci/run runs and what a developer runs.
# Sets the machine up, then lints, type-checks and runs every test; arguments go to pytest.
# All checks run even after one fails, so a single run shows every problem.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/setup.sh --for-tests

failed=()
check() {
    echo "+ $*"
    "$@" || failed+=("$*")
}

check .venv/bin/ruff check .
check .venv/bin/ruff format --check .
check .venv/bin/mypy
# The dependency rules of DESIGN.md: the contracts are [tool.importlinter] in pyproject.toml.
check .venv/bin/lint-imports --no-cache
# Any non-zero pytest status fails the run, including 5 ("no tests collected"): a suite that
# silently stopped collecting must not look green.
check .venv/bin/python -m pytest "$@"

if [ "${#failed[@]}" -gt 0 ]; then
    printf 'test.sh: FAILED: %s\n' "${failed[@]}" >&2
    exit 1
fi
echo "test.sh: all checks passed"
