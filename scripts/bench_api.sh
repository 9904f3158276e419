#!/usr/bin/env bash
# The API for applications under load (issue #12), release build: POST /api/v1/messages with
# 50 connections on loopback for DURATION seconds (default 10, wrk with a Lua body), each
# request queuing one message into the outbox (no background delivery during the run). Prints
# requests/s and latency from wrk, then checks that every 202 left one message in the outbox.
# Called by scripts/bench.sh; runs alone too.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-50}
command -v wrk >/dev/null || { sudo=""; [ "$(id -u)" != 0 ] && sudo="sudo"; DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q wrk >/dev/null; }
cargo build --release --quiet --bin rolo
bin="$PWD/target/release/rolo"
work=$(mktemp -d)
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
export ROLO_DB="$work/api.db" XDG_CONFIG_HOME="$work/config" XDG_DATA_HOME="$work/data" ROLO_TOKEN_STORE=file TZ=UTC
unset ROLO_TOKEN SENTRY_DSN ROLO_SMTP_URL
"$bin" -q init --demo >/dev/null
admin=$(echo admin-demo-password | "$bin" login --username admin --password-stdin --print-token)
key=$(ROLO_TOKEN=$admin "$bin" -q app create bench --scope mail:send --rate 0 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer $key"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"to": "léa@exemple.fr", "subject": "Votre facture n° 4711", "text": "Bonjour Léa, votre facture est prête."}'
LUA
"$bin" serve --listen "127.0.0.1:$port" --work-every 0 2>"$work/serve.log" &
server=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
before=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM outbox').fetchone()[0])" "$ROLO_DB")
out=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$work/post.lua" "http://127.0.0.1:$port/api/v1/messages")
kill -TERM "$server"; wait "$server" || true; server=""
after=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM outbox').fetchone()[0])" "$ROLO_DB")
accepted=$(grep -c "POST /api/… 202" "$work/serve.log" || true)
echo "== POST /api/v1/messages: $CONNECTIONS connections, ${DURATION}s"
echo "$out" | grep -E "Requests/sec|50%|90%|99%|Socket errors|Non-2xx" | sed 's/^ */  /'
echo "  202 in the access log $accepted, messages queued $((after - before))"
