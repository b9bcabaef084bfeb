#!/usr/bin/env bash
# Load benchmark: Tollgate's HTTP_PROXY integration against nginx as a plain reverse proxy, both in
# front of the same local nginx backend, in the same run. See bench/README.md.
#
#   bench/run.sh                 full mode: release build, 2 interleaved rounds of 10 s per proxy
#   bench/run.sh --smoke         CI mode: ~30 s, fails only when a scenario breaks, never on figures
#   bench/run.sh --help          all options (they are bench/bench.py's)
#
# This script installs what is missing (nginx-light or nginx, wrk, taskset), builds Tollgate when
# needed, then hands over to bench/bench.py, which starts the processes, configures Tollgate with
# boto3, runs wrk and writes bench/results/. Everything it starts is stopped at exit.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$BENCH_DIR/.." && pwd)"

smoke=0
want_tollgate=1
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --smoke) smoke=1 ;;
    --proxies=*) [[ "${args[i]#--proxies=}" == *tollgate* ]] || want_tollgate=0 ;;
    --proxies) [[ "${args[i + 1]:-}" == *tollgate* ]] || want_tollgate=0 ;;
  esac
done

log() { printf '== %s\n' "$*" >&2; }

# ---------------------------------------------------------------- tools (Debian packages)
install_packages() {
  local pkgs=("$@")
  log "installing ${pkgs[*]}"
  # Never let the package start a system-wide nginx on port 80: a policy-rc.d that answers 101
  # stops maintainer scripts from starting services. Keep one that is already there.
  local own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    own_policy=1
  fi
  local rc=0
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" \
    >/dev/null || rc=$?
  if ((own_policy)); then rm -f /usr/sbin/policy-rc.d; fi
  return $rc
}

ensure_tools() {
  local need=()
  command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
  command -v wrk >/dev/null 2>&1 || need+=(wrk)
  command -v taskset >/dev/null 2>&1 || need+=(util-linux)
  ((${#need[@]})) || return 0
  if [ "$(id -u)" != 0 ]; then
    echo "bench: missing ${need[*]}; run as root or install them (apt-get install nginx-light wrk util-linux)" >&2
    exit 1
  fi
  log "apt-get update (missing: ${need[*]})"
  apt-get update -qq >/dev/null
  local pkgs=()
  for p in "${need[@]}"; do
    if [ "$p" = nginx ]; then
      # On bookworm and later the nginx package holds the binary with the standard modules
      # (proxy, upstream keepalive, stub_status) and nginx-light only adds the echo module;
      # on older releases nginx is a metapackage and nginx-light is the small flavour.
      local policy
      policy="$(apt-cache policy nginx-light nginx 2>/dev/null || true)"
      if awk '/^nginx:/{p=1} p && /Candidate:/{print; exit}' <<<"$policy" | grep -q '[0-9]'; then
        pkgs+=(nginx)
      else
        pkgs+=(nginx-light)
      fi
    else
      pkgs+=("$p")
    fi
  done
  install_packages "${pkgs[@]}"
}

# ---------------------------------------------------------------- Python with boto3
pick_python() {
  if [ -x "$REPO/.venv/bin/python" ] && "$REPO/.venv/bin/python" -c 'import boto3' 2>/dev/null; then
    echo "$REPO/.venv/bin/python"
  elif python3 -c 'import boto3' 2>/dev/null; then
    echo python3
  elif [ -x "$REPO/.venv/bin/python" ]; then
    # The test suite's venv exists but lacks boto3 (half-installed): complete it.
    "$REPO/.venv/bin/python" -m pip install --quiet boto3 >&2
    echo "$REPO/.venv/bin/python"
  else
    echo "bench: no Python with boto3 (run ./scripts/test.sh once to create .venv, or pip install boto3)" >&2
    exit 1
  fi
}

# ---------------------------------------------------------------- the Tollgate binary
target_dir="${CARGO_TARGET_DIR:-$REPO/target}"
case "$target_dir" in /*) ;; *) target_dir="$REPO/$target_dir" ;; esac
release_bin="$target_dir/release/tollgate"

build_release() {
  log "cargo build --release -p tollgate"
  (cd "$REPO" && cargo build --release -p tollgate)
}

pick_tollgate() {
  if [ -n "${TOLLGATE_BIN:-}" ]; then
    if [ ! -x "$TOLLGATE_BIN" ]; then
      echo "bench: TOLLGATE_BIN=$TOLLGATE_BIN is not an executable" >&2
      exit 1
    fi
    ((smoke)) || log "using TOLLGATE_BIN=$TOLLGATE_BIN as is (not building release)"
    return
  fi
  if ((smoke)) && [ -x "$release_bin" ]; then
    TOLLGATE_BIN="$release_bin"
    return
  fi
  build_release
  TOLLGATE_BIN="$release_bin"
}

for a in "$@"; do
  if [ "$a" = -h ] || [ "$a" = --help ] || [ "$a" = --list ]; then
    exec "$(pick_python)" "$BENCH_DIR/bench.py" "$a"
  fi
done

ensure_tools
PY="$(pick_python)"
if ((want_tollgate)); then
  pick_tollgate
  export TOLLGATE_BIN
fi

# ---------------------------------------------------------------- run, and clean up at exit
WORK="$(mktemp -d "${TMPDIR:-/tmp}/tollgate-bench.XXXXXX")"
PYPID=
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  # On a signal, ask bench.py to stop: it stops what it started and exits.
  if [ -n "$PYPID" ] && kill -0 "$PYPID" 2>/dev/null; then
    kill -TERM "$PYPID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$PYPID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$PYPID" 2>/dev/null || true
  fi
  # The safety net if bench.py could not: it records the id of every process it starts in
  # $WORK/pids, and only those are signalled.
  if [ -f "$WORK/pids" ]; then
    local pid
    while read -r pid; do
      kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" 2>/dev/null || true
    done <"$WORK/pids"
    sleep 0.5
    while read -r pid; do
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
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
# In the background and waited for, so that a signal runs the trap at once (not exec: the trap
# must outlive bench.py).
"$PY" "$BENCH_DIR/bench.py" "$@" &
PYPID=$!
wait "$PYPID"
