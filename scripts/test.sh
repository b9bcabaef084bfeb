#!/usr/bin/env bash
# The whole test suite: unit and integration tests of every crate, then the end-to-end tests,
# which start the real binary and drive it with boto3 and the AWS CLI, then a benchmark smoke run.
# Installs what the end-to-end tests need (a Python venv in .venv) on first use.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv for the end-to-end tests"
  "$PYTHON" -m venv .venv
fi
if ! .venv/bin/python -c 'import boto3, pytest, awscli' 2>/dev/null \
   || [ tests/e2e/requirements.txt -nt .venv/.installed ]; then
  echo "== installing tests/e2e/requirements.txt"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r tests/e2e/requirements.txt
  touch .venv/.installed
fi

echo "== cargo test (unit and integration tests)"
cargo test --workspace --locked

echo "== building the binary for the end-to-end tests"
cargo build --locked -p tollgate
export TOLLGATE_BIN="$PWD/target/debug/tollgate"
# Python functions run with the venv's interpreter, which has AWS's runtime client.
export TOLLGATE_PYTHON="$PWD/.venv/bin/python"

echo "== end-to-end tests"
.venv/bin/python -m pytest tests/e2e -q "$@"

# Every benchmark scenario for a second or two against the debug binary: fails only when a
# scenario breaks, never on speed. It needs nginx and wrk (bench/run.sh installs them when run as
# root). SKIP_BENCH_SMOKE=1 skips it.
has_bench_tools() { command -v wrk && { command -v nginx || [ -x /usr/sbin/nginx ]; }; } >/dev/null 2>&1
if [ -n "${SKIP_BENCH_SMOKE:-}" ]; then
  echo "== benchmark smoke run skipped (SKIP_BENCH_SMOKE)"
elif [ "$(id -u)" = 0 ] || has_bench_tools; then
  echo "== benchmark smoke run"
  bench/run.sh --smoke
else
  echo "== benchmark smoke run skipped: it needs nginx and wrk (apt-get install nginx wrk)"
fi
