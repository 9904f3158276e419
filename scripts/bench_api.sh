#!/usr/bin/env bash
# The API for applications under load (issue #12), release build: POST /api/v1/messages with
# 50 connections on loopback for DURATION seconds (default 10, wrk with a Lua body), each
# request queuing one message into the outbox (no background delivery during the run). Prints
# requests/s and latency from wrk, then checks that every 202 left one message in the outbox.
# Then the delivery: the server restarted with postfix's `smtp-sink` on 127.0.0.1 as its SMTP
# server, its background worker delivering the whole outbox; prints messages/s from the start
# of the server to an empty outbox, and what smtp-sink counted (each message once).
# Installs wrk and postfix (for smtp-sink) when missing. Called by scripts/bench.sh; runs alone too.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-50}
source scripts/lib.sh
need_wrk
sink=$(smtp_sink)
bench_world api
"$bin" -q init --demo >/dev/null
admin=$(echo admin-demo-password | "$bin" login --username admin --password-stdin --print-token)
key=$(ROLO_TOKEN=$admin "$bin" -q app create bench --scope mail:send --rate 0 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
port=$(free_port)
cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer $key"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"to": "lea.dupont@exemple.fr", "subject": "Votre facture n° 4711", "text": "Bonjour Léa, votre facture est prête."}'
LUA
"$bin" serve --listen "127.0.0.1:$port" --work-every 0 2>"$work/serve.log" &
server=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
count() { python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])" "$ROLO_DB" "$1"; }
before=$(count "SELECT count(*) FROM outbox")
out=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$work/post.lua" "http://127.0.0.1:$port/api/v1/messages")
kill -TERM "$server"; wait "$server" || true; server=""
after=$(count "SELECT count(*) FROM outbox")
accepted=$(grep -c "POST /api/… 202" "$work/serve.log" || true)
echo "== POST /api/v1/messages: $CONNECTIONS connections, ${DURATION}s"
echo "$out" | grep -E "Requests/sec|50%|90%|99%|Socket errors|Non-2xx" | sed 's/^ */  /'
echo "  202 in the access log $accepted, messages queued $((after - before))"

# Delivery: the queued messages (the demo's own and the run's) to smtp-sink by the worker.
queued=$(count "SELECT count(*) FROM outbox WHERE status = 'queued'")
sink_port=$(free_port)
sink_user=(); [ "$(id -u)" = 0 ] && sink_user=(-u nobody)
"$sink" "${sink_user[@]}" -c "127.0.0.1:$sink_port" 1000 >"$work/sink.log" 2>&1 &
sink_pid=$!
sleep 0.5
start=$(date +%s.%N)
ROLO_SMTP_URL="smtp://127.0.0.1:$sink_port" "$bin" serve --listen "127.0.0.1:$port" --work-every 1 2>>"$work/serve.log" &
server=$!
while [ "$(count "SELECT count(*) FROM outbox WHERE status IN ('queued', 'sending')")" != 0 ]; do
  kill -0 "$server" 2>/dev/null || { echo "the server stopped" >&2; exit 1; }
  sleep 0.1
done
secs=$(python3 -c "import sys,time; print(f'{time.time() - float(sys.argv[1]):.2f}')" "$start")
kill -TERM "$server"; wait "$server" || true; server=""
sleep 0.3
sent=$(count "SELECT count(*) FROM outbox WHERE status = 'sent'")
failed=$(count "SELECT count(*) FROM outbox WHERE status = 'failed'")
received=$(grep -o 'mesg=[0-9]*' "$work/sink.log" | tail -1 | cut -d= -f2)
echo "== delivery by the server's worker to smtp-sink on 127.0.0.1"
python3 -c "import sys; q,s=int(sys.argv[1]),float(sys.argv[2]); print(f'  {q} queued messages in {s} s from server start to an empty outbox: {q/s:,.0f} messages/s')" "$queued" "$secs"
echo "  outbox sent $sent, failed $failed; smtp-sink received ${received:-0}"
