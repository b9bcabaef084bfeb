#!/usr/bin/env bash
# WebSocket benchmark (not a timed test): opens N concurrent connections to Tollgate and prints
# the gateway's RSS per idle connection, the connection setup rate, and round trips per second
# through a MOCK two-way route and through a warm Python function; then the same against a
# plain tokio-tungstenite echo server (128 KB and 4 KB read buffers) as the reference.
#
#   bench/websocket.sh [connections=10000] [seconds-per-roundtrip-run=5]
#
# TOLLGATE_BIN picks the binary (default: target/release/tollgate, built if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
SECONDS_RT=${2:-5}
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

if [ -z "${TOLLGATE_BIN:-}" ]; then
  [ -x target/release/tollgate ] || cargo build --release --locked -p tollgate
  TOLLGATE_BIN=target/release/tollgate
fi
cargo build --quiet --release --manifest-path bench/ws-load/Cargo.toml --target-dir target/ws-load
LOAD=target/ws-load/release/ws-load
PY=.venv/bin/python; [ -x "$PY" ] || PY=python3

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
DATA=$(mktemp -d); PORT=$(free_port)
cleanup() { kill "${TG_PID:-}" "${ECHO_PID:-}" 2>/dev/null || true; rm -rf "$DATA"; }
trap cleanup EXIT

TOLLGATE_WS_CONNECT_RATE=1000000 TOLLGATE_PYTHON="$PY" \
  "$TOLLGATE_BIN" serve --listen "127.0.0.1:$PORT" --data-dir "$DATA" >"$DATA/log" 2>&1 &
TG_PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/account" >/dev/null && break; sleep 0.1; done

# One WebSocket API: `echo` answered by MOCK (two-way), `fn` by a warm Python function.
API=$("$PY" - "$PORT" <<'PY'
import io, json, sys, urllib.request, zipfile
base = f"http://127.0.0.1:{sys.argv[1]}"
def call(method, path, body):
    req = urllib.request.Request(base + path, json.dumps(body).encode(), method=method,
                                 headers={"content-type": "application/json"})
    return json.load(urllib.request.urlopen(req))
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w") as z:
    z.writestr("app.py", "def handler(event, context):\n    return {'statusCode': 200, 'body': event['body']}\n")
import base64
call("POST", "/2015-03-31/functions", {"FunctionName": "wsecho", "Runtime": "python3.12",
     "Role": "arn:aws:iam::000000000000:role/r", "Handler": "app.handler",
     "Code": {"ZipFile": base64.b64encode(buf.getvalue()).decode()}})
api = call("POST", "/v2/apis", {"name": "bench", "protocolType": "WEBSOCKET",
           "routeSelectionExpression": "$request.body.action"})["apiId"]
def route(key, integration):
    r = call("POST", f"/v2/apis/{api}/routes", {"routeKey": key, "target": f"integrations/{integration}",
             "routeResponseSelectionExpression": "$default"})
    call("POST", f"/v2/apis/{api}/routes/{r['routeId']}/routeresponses", {"routeResponseKey": "$default"})
mock = call("POST", f"/v2/apis/{api}/integrations", {"integrationType": "MOCK",
            "requestTemplates": {"$default": '{"statusCode": 200}'}, "templateSelectionExpression": "\\$default"})["integrationId"]
call("POST", f"/v2/apis/{api}/integrations/{mock}/integrationresponses",
     {"integrationResponseKey": "$default", "responseTemplates": {"$default": '{"ok": true}'}})
fn = call("POST", f"/v2/apis/{api}/integrations", {"integrationType": "AWS_PROXY",
          "integrationUri": "arn:aws:lambda:us-east-1:000000000000:function:wsecho"})["integrationId"]
route("echo", mock)
route("fn", fn)
dep = call("POST", f"/v2/apis/{api}/deployments", {})["deploymentId"]
call("POST", f"/v2/apis/{api}/stages", {"stageName": "bench", "deploymentId": dep})
print(api)
PY
)
URL="ws://127.0.0.1:$PORT/_aws/execute-api/$API/bench"
OUT=$DATA/figures
keep() { grep -E "^(connections|failed|setup_per_sec|rss_per_connection_bytes|roundtrips_per_sec|roundtrip_errors)=" \
  | sed "s/^/$1./" | tee -a "$OUT" | sed "s/^$1\./  /"; }
figure() { sed -n "s/^$1=//p" "$OUT"; }
: >"$OUT"

echo "== tollgate ($TOLLGATE_BIN), $N connections, MOCK two-way route"
"$LOAD" idle "$URL" "$N" "$TG_PID" '{"action":"echo"}' "$SECONDS_RT" | keep tg
echo "== tollgate, warm Python function (AWS_PROXY two-way route), 64 connections"
"$LOAD" idle "$URL" 64 "$TG_PID" '{"action":"fn","x":1}' 1 >/dev/null   # warm the function
"$LOAD" idle "$URL" 64 "$TG_PID" '{"action":"fn","x":1}' "$SECONDS_RT" | grep -v rss | keep fn

for BUF in 131072 4096; do
  EPORT=$(free_port)
  "$LOAD" echo "127.0.0.1:$EPORT" "$BUF" >/dev/null &
  ECHO_PID=$!
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$EPORT") 2>/dev/null && break; sleep 0.05; done
  echo "== reference: tokio-tungstenite echo server, read buffer $BUF bytes, $N connections"
  "$LOAD" idle "ws://127.0.0.1:$EPORT/" "$N" "$ECHO_PID" '{"action":"echo"}' "$SECONDS_RT" | keep "ref$BUF"
  kill "$ECHO_PID"; wait "$ECHO_PID" 2>/dev/null || true
done

# Ratios in this run (the absolute figures move with the machine's load; these much less).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b > 0) printf "%.2f", a / b; else printf "n/a" }'; }
echo "== summary (tollgate / reference with a 4 KB read buffer, same run)"
echo "  rss_per_idle_connection_bytes: tollgate $(figure tg.rss_per_connection_bytes)" \
  "(target < 10240), ref 4 KB $(figure ref4096.rss_per_connection_bytes)," \
  "ref 128 KB $(figure ref131072.rss_per_connection_bytes);" \
  "ratio $(ratio "$(figure tg.rss_per_connection_bytes)" "$(figure ref4096.rss_per_connection_bytes)")"
echo "  setup_per_sec: tollgate $(figure tg.setup_per_sec), ref $(figure ref4096.setup_per_sec);" \
  "ratio $(ratio "$(figure tg.setup_per_sec)" "$(figure ref4096.setup_per_sec)")"
echo "  roundtrips_per_sec (64 connections, 1 in flight each): tollgate MOCK $(figure tg.roundtrips_per_sec)," \
  "tollgate warm function $(figure fn.roundtrips_per_sec), ref echo $(figure ref4096.roundtrips_per_sec);" \
  "MOCK ratio $(ratio "$(figure tg.roundtrips_per_sec)" "$(figure ref4096.roundtrips_per_sec)")"
