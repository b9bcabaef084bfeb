#!/usr/bin/env bash
# Import benchmark: how long `tollgate import` takes to import AND deploy the largest definition of
# the corpus (tests/fixtures/openapi/orthanc.json, 291 operations, 152 models) through a running
# server, end to end (CLI start, HTTP upload, parse, one atomic store batch, deployment snapshot).
# Target: under one second.
#
#   bench/import.sh            release build (when missing or older than the sources), 10 runs
#   bench/import.sh --runs N   another number of runs
#
# The definition has no integrations (it is a plain public OpenAPI file), and API Gateway refuses
# to deploy methods without one, so the script gives every operation a MOCK integration first
# (a copy in a temp dir). TOLLGATE_BIN, if set, is used as is.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$BENCH_DIR/.." && pwd)"
RUNS=10
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS="$2"; shift 2 ;;
    --runs=*) RUNS="${1#--runs=}"; shift ;;
    *) echo "usage: bench/import.sh [--runs N]" >&2; exit 2 ;;
  esac
done

BIN="${TOLLGATE_BIN:-$REPO/target/release/tollgate}"
if [ -z "${TOLLGATE_BIN:-}" ]; then
  newest_source=$(find "$REPO/crates" -name '*.rs' -newer "$BIN" -print -quit 2>/dev/null || true)
  if [ ! -x "$BIN" ] || [ -n "$newest_source" ]; then
    echo "== building the release binary" >&2
    (cd "$REPO" && cargo build --release --locked -p tollgate >&2)
  fi
fi

WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

python3 - "$REPO/tests/fixtures/openapi/orthanc.json" "$WORK/orthanc-mock.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
verbs = {"get", "put", "post", "delete", "options", "head", "patch"}
for item in doc["paths"].values():
    for key, op in item.items():
        if key in verbs and "x-amazon-apigateway-integration" not in op:
            op["x-amazon-apigateway-integration"] = {
                "type": "mock", "requestTemplates": {"application/json": "{\"statusCode\": 200}"}}
json.dump(doc, open(sys.argv[2], "w"))
PY

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ENDPOINT="http://127.0.0.1:$PORT"
"$BIN" serve --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
  curl -sf "$ENDPOINT/account" >/dev/null 2>&1 && break
  sleep 0.1
done

ops=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(sum(1 for i in d['paths'].values() for k in i if k in {'get','put','post','delete','options','head','patch'}))" "$WORK/orthanc-mock.json")
size=$(( $(wc -c <"$WORK/orthanc-mock.json") / 1024 ))
echo "importing and deploying orthanc.json ($ops operations, $size KB) $RUNS times through $ENDPOINT"
times=()
for i in $(seq "$RUNS"); do
  start=$(date +%s.%N)
  # The first run creates the API; the next ones replace it (PutRestApi overwrite) and redeploy.
  "$BIN" import "$WORK/orthanc-mock.json" --stage bench --endpoint "$ENDPOINT" >/dev/null
  end=$(date +%s.%N)
  t=$(python3 -c "print(f'{$end - $start:.3f}')")
  times+=("$t")
  echo "  run $i: ${t}s"
done
python3 - "${times[@]}" <<'PY'
import statistics, sys
t = sorted(float(x) for x in sys.argv[1:])
print(f"import + deploy: first {float(sys.argv[1]):.3f}s, median {statistics.median(t):.3f}s, "
      f"best {t[0]:.3f}s, worst {t[-1]:.3f}s (target < 1 s)")
PY
