#!/usr/bin/env bash
# The client portal with 100,000 tickets in the database (issue #13), release build: the demo
# plus TICKETS tickets (default 100,000; a tenth in Kevin's project, the rest in another
# client's), each with a message, SLA projections recomputed. Kevin logs in over HTTP; then
# wrk with one connection (so each latency is one request's time at the server, plus loopback)
# on each portal page for DURATION seconds (default 5). Prints p50/p99 per page; the bar is
# < 50 ms. Installs wrk when missing. Called by scripts/bench.sh; runs alone too.
set -euo pipefail
cd "$(dirname "$0")/.."
TICKETS=${TICKETS:-100000}
DURATION=${DURATION:-5}
source scripts/lib.sh
need_wrk
bench_world portal
"$bin" -q init --demo >/dev/null
python3 - "$ROLO_DB" "$TICKETS" <<'PY'
import random, sqlite3, sys
db, n = sys.argv[1], int(sys.argv[2])
c = sqlite3.connect(db)
users = dict(c.execute("SELECT username, id FROM users"))
kevin_project = c.execute("SELECT project_id FROM project_access WHERE user_id = ?", (users["kevin"],)).fetchone()[0]
other = c.execute("SELECT id FROM projects WHERE id != ? LIMIT 1", (kevin_project,)).fetchone()[0]
statuses = ["open", "in_progress", "waiting_client", "resolved", "closed"]
kinds = ["urgent", "maintenance", "evolution"]
random.seed(13)
with c:
    for i in range(n):
        mine = i % 10 == 0
        project = kevin_project if mine else other
        author = users["kevin"] if mine else users["kate"]
        at = f"2026-{1 + i % 11:02d}-{1 + i % 28:02d}T{i % 24:02d}:00:00.000Z"
        cur = c.execute(
            "INSERT INTO tickets (project_id, type, subject, status, author_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (project, random.choice(kinds), f"Bench ticket {i}: the export « été » is slow", random.choice(statuses), author, at, at),
        )
        c.execute(
            "INSERT INTO ticket_messages (ticket_id, author_id, internal, body, created_at) VALUES (?, ?, 0, ?, ?)",
            (cur.lastrowid, author, "Bonjour,\n\nThe monthly export takes minutes since Tuesday.", at),
        )
PY
mia=$(echo mia-demo-password | "$bin" login --username mia --password-stdin --print-token)
ROLO_TOKEN=$mia "$bin" -q ticket sla recompute >/dev/null
# A PDF on ticket 1, for the download.
head -c 200000 /dev/urandom >"$work/devis.pdf"
kevin=$(echo kevin-demo-password | "$bin" login --username kevin --password-stdin --print-token)
ROLO_TOKEN=$kevin "$bin" -q ticket reply 1 --body "Le devis, en pièce jointe." --attach "$work/devis.pdf" >/dev/null
port=$(free_port)
"$bin" serve --listen "127.0.0.1:$port" --work-every 0 2>"$work/serve.log" &
server=$!
base="http://127.0.0.1:$port"
for _ in $(seq 50); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done
csrf=$(curl -s "$base/portal/login" | grep -o 'name="csrf" value="[^"]*"' | head -1 | cut -d'"' -f4)
cookie=$(curl -s -o /dev/null -D - "$base/portal/login" --data-urlencode "csrf=$csrf" -d username=kevin \
  -d password=kevin-demo-password | grep -i '^set-cookie: rolo_portal=' | sed 's/^[^=]*=//; s/;.*//')
[ -n "$cookie" ] || { echo "login failed" >&2; exit 1; }
file_id=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT a.id FROM attachments a JOIN ticket_messages m ON m.id = a.message_id WHERE m.internal = 0 AND m.ticket_id = 1 ORDER BY a.id DESC').fetchone()[0])" "$ROLO_DB")
total=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM tickets').fetchone()[0])" "$ROLO_DB")
echo "== the client portal, $total tickets in the database ($(( TICKETS / 10 )) in Kevin's project), wrk -c1 -d${DURATION}s"
for page in "/portal/tickets" "/portal/tickets?status=open" "/portal/tickets/1" "/portal/tickets/new" "/portal/files/$file_id" "/portal/login"; do
  out=$(wrk -t1 -c1 -d"${DURATION}s" --latency -H "Cookie: rolo_portal=$cookie" "$base$page")
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $5}')
  printf '  %-32s p50 %-9s p99 %-9s %8s req/s  non-2xx %s\n' "$page" "$p50" "$p99" "$rps" "${non2xx:-0}"
done
