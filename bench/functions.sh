#!/usr/bin/env bash
# Functions benchmark: warm invoke overhead through the gateway (AWS_PROXY vs direct invoke vs
# MOCK), cold start of a provided.al2023 function, and throughput against serverless-offline
# running the same Node handler. See bench/README.md ("Functions benchmark").
#
#   bench/functions.sh            full run (~4 min plus a one-off npm install)
#   bench/functions.sh --smoke    CI: short runs; fails only when something breaks, never on figures
#   bench/functions.sh --help     all options (they are bench/functions_bench.py's)
#
# It installs what is missing (wrk, taskset), builds Tollgate's release binary when it is missing
# or older than the sources (TOLLGATE_BIN, if set, is used as is), builds the Rust fixture
# (tests/fixtures/rust-fn) into target/fixtures, then hands over to bench/functions_bench.py.
# Everything it starts is stopped at exit, including on Ctrl-C, and its temp dirs are removed.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$BENCH_DIR/.." && pwd)"
log() { printf '== %s\n' "$*" >&2; }

want_cold=1
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --parts=*) [[ "${args[i]#--parts=}" == *cold* ]] || want_cold=0 ;;
    --parts) [[ "${args[i + 1]:-}" == *cold* ]] || want_cold=0 ;;
  esac
done

# ---------------------------------------------------------------- Python with boto3
pick_python() {
  if [ -x "$REPO/.venv/bin/python" ] && "$REPO/.venv/bin/python" -c 'import boto3' 2>/dev/null; then
    echo "$REPO/.venv/bin/python"
  elif python3 -c 'import boto3' 2>/dev/null; then
    echo python3
  else
    echo "bench: no Python with boto3 (run ./scripts/test.sh once to create .venv, or pip install boto3)" >&2
    exit 1
  fi
}

for a in "$@"; do
  if [ "$a" = -h ] || [ "$a" = --help ]; then
    exec "$(pick_python)" "$BENCH_DIR/functions_bench.py" "$a"
  fi
done

# ---------------------------------------------------------------- tools
need=()
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v taskset >/dev/null 2>&1 || need+=(util-linux)
if ((${#need[@]})); then
  if [ "$(id -u)" != 0 ]; then
    echo "bench: missing ${need[*]}; run as root or apt-get install ${need[*]}" >&2
    exit 1
  fi
  log "apt-get install ${need[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if ! command -v node >/dev/null 2>&1; then
  echo "bench: node is required (nodejs20.x functions run under the local node)" >&2
  exit 1
fi
PY="$(pick_python)"

# ---------------------------------------------------------------- the Tollgate binary
target_dir="${CARGO_TARGET_DIR:-$REPO/target}"
case "$target_dir" in /*) ;; *) target_dir="$REPO/$target_dir" ;; esac
release_bin="$target_dir/release/tollgate"

if [ -n "${TOLLGATE_BIN:-}" ]; then
  if [ ! -x "$TOLLGATE_BIN" ]; then
    echo "bench: TOLLGATE_BIN=$TOLLGATE_BIN is not an executable" >&2
    exit 1
  fi
  log "using TOLLGATE_BIN=$TOLLGATE_BIN as is"
else
  stale=0
  if [ ! -x "$release_bin" ]; then
    stale=1
  elif [ -n "$(find "$REPO/crates" "$REPO/Cargo.toml" "$REPO/Cargo.lock" -newer "$release_bin" \
      \( -name '*.rs' -o -name '*.toml' -o -name '*.lock' -o -name '*.js' -o -name '*.py' \) \
      -print -quit 2>/dev/null)" ]; then
    stale=1
  fi
  if ((stale)); then
    log "cargo build --release -p tollgate"
    (cd "$REPO" && cargo build --release -p tollgate)
  fi
  TOLLGATE_BIN="$release_bin"
fi
export TOLLGATE_BIN

# ---------------------------------------------------------------- the Rust fixture
if ((want_cold)); then
  log "cargo build --release (tests/fixtures/rust-fn -> target/fixtures)"
  (cd "$REPO" && cargo build --release --quiet --manifest-path tests/fixtures/rust-fn/Cargo.toml \
    --target-dir target/fixtures)
fi

# ---------------------------------------------------------------- run, and clean up at exit
WORK="$(mktemp -d "${TMPDIR:-/tmp}/tollgate-fnbench.XXXXXX")"
PYPID=
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$PYPID" ] && kill -0 "$PYPID" 2>/dev/null; then
    kill -TERM "$PYPID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$PYPID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$PYPID" 2>/dev/null || true
  fi
  # Safety net: functions_bench.py records every process it starts in $WORK/pids (a negative
  # entry is a process group it created); only those are signalled.
  if [ -f "$WORK/pids" ]; then
    local pid
    while read -r pid; do
      kill -0 -- "$pid" 2>/dev/null && kill -TERM -- "$pid" 2>/dev/null || true
    done <"$WORK/pids"
    sleep 0.5
    while read -r pid; do
      kill -0 -- "$pid" 2>/dev/null && kill -KILL -- "$pid" 2>/dev/null || true
    done <"$WORK/pids"
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export BENCH_WORK="$WORK"
export PYTHONUNBUFFERED=1
"$PY" "$BENCH_DIR/functions_bench.py" "$@" &
PYPID=$!
wait "$PYPID"
