#!/usr/bin/env bash
# rolo serve under load (issue #11), release build: the open pixel and the click redirect of a
# real campaign message, each hit by wrk with 50 connections on loopback for DURATION seconds
# (default 10). Prints requests/s and latency percentiles from wrk, then checks that every
# answered request left its event in the database. Installs wrk when missing. Called by
# scripts/bench.sh; runs alone too.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-50}
THREADS=${THREADS:-2}
source scripts/lib.sh
need_wrk
bench_world serve
"$bin" -q init --demo >/dev/null
port=$(free_port)
public="http://127.0.0.1:$port"

# Tokens of Kevin's message in the demo's sent campaign, and one link of that campaign.
read -r open click < <(python3 - "$ROLO_DB" <<'PY'
import hashlib, hmac, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
secret = db.execute("SELECT value FROM meta WHERE key = 'token_secret'").fetchone()[0].encode()
row = db.execute("SELECT id FROM send_log WHERE campaign_id = 1 AND email = 'kevin@startup.io'").fetchone()[0]
db.execute("INSERT OR IGNORE INTO campaign_links (campaign_id, url, created_at) VALUES (1, 'https://institut.example/programme', '2026-01-01T00:00:00.000Z')")
link = db.execute("SELECT id FROM campaign_links WHERE campaign_id = 1").fetchone()[0]
db.commit()
def sign(tag, ident):
    mac = hmac.new(secret, tag + b":" + ident.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{ident}.{mac}"
print(sign(b"o", f"{row:x}"), sign(b"c", f"{row:x}-{link:x}"))
PY
)

"$bin" serve --listen "127.0.0.1:$port" --public-url "$public" --work-every 0 2>"$work/serve.log" &
server=$!
for _ in $(seq 50); do curl -sf "$public/healthz" >/dev/null && break; sleep 0.1; done

count() { python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT count(*) FROM mail_events WHERE kind = '$1'\").fetchone()[0])" "$ROLO_DB"; }
run() { # name path kind
  local before after out total non2xx
  before=$(count "$3")
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -H "User-Agent: Mozilla/5.0 (bench)" "$public$2")
  after=$(count "$3")
  total=$(echo "$out" | awk '/requests in/ {print $1}')
  non2xx=$(echo "$out" | awk '/Non-2xx or 3xx/ {print $NF}')
  echo "== $1: $CONNECTIONS connections, ${DURATION}s"
  echo "$out" | grep -E "Requests/sec|50%|90%|99%|Socket errors|Non-2xx" | sed 's/^ */  /'
  echo "  answered $total, events stored $((after - before)), non-2xx ${non2xx:-0}"
}
run "open pixel GET /o/TOKEN" "/o/$open" open
run "click redirect GET /c/TOKEN" "/c/$click" click
kill -TERM "$server"; wait "$server" || true; server=""
echo "statuses in the access log:"; awk '/ ms [0-9a-f]+$/ {print "  " $1, $2, $3}' "$work/serve.log" | sort | uniq -c | sort -rn | head -5
grep -Ev " ms [0-9a-f]+$" "$work/serve.log" | sort | uniq -c | sort -rn | head -5
