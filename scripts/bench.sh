#!/usr/bin/env bash
# Whole-process timings of the release binary on a large database.
#   scripts/bench.sh                 100k clients, 200k contracts, 200k events (issue #3)
#   CLIENTS=… CONTRACTS=… EVENTS=… RUNS=… scripts/bench.sh
#   ENCRYPT=1 scripts/bench.sh       the same listings on the database encrypted with SQLCipher
#                                    (a raw 256-bit key in ROLO_DB_KEY), then stops
# Prints a Markdown table of medians (and p90) over RUNS runs of each command, then the import
# figures, the campaign send (scripts/bench_campaign.sh: postfix smtp-sink, 1M-recipient freeze)
# and rolo serve under load (scripts/bench_serve.sh: wrk on the pixel and the click redirect).
set -euo pipefail
cd "$(dirname "$0")/.."
CLIENTS=${CLIENTS:-100000}
CONTRACTS=${CONTRACTS:-200000}
EVENTS=${EVENTS:-200000}
TICKETS=${TICKETS:-100000}
RUNS=${RUNS:-31}

cargo build --release --quiet --bin rolo --example bench_fill
bin="$PWD/target/release/rolo"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export ROLO_DB="$work/bench.db" XDG_CONFIG_HOME="$work/config" XDG_DATA_HOME="$work/data" ROLO_TOKEN_STORE=file TZ=UTC
unset ROLO_TOKEN SENTRY_DSN

echo "bench-admin-password" | "$bin" -q init --admin-username admin --admin-email admin@bench.test --admin-name Admin --password-stdin
token=$(echo "bench-admin-password" | "$bin" login --username admin --password-stdin --print-token)
for i in $(seq 1 10); do
  ROLO_TOKEN=$token ROLO_NEW_PASSWORD=bench-user-password "$bin" -q user create --username "sales$i" \
    --email "sales$i@bench.test" --name "Sales $i" --role sales >/dev/null
  ROLO_TOKEN=$token ROLO_NEW_PASSWORD=bench-user-password "$bin" -q user create --username "support$i" \
    --email "support$i@bench.test" --name "Support $i" --role support >/dev/null
done

"$PWD/target/release/examples/bench_fill" "$ROLO_DB" "$CLIENTS" "$CONTRACTS" "$EVENTS" "$TICKETS"
# The filler writes rows directly: give its tickets their stored SLA projections.
ROLO_TOKEN=$token "$bin" ticket sla recompute
# A custom field for the segment cases (no client has a value: the filter still reads them all).
ROLO_TOKEN=$token "$bin" -q client field create budget --type number >/dev/null

# The first SLA check queues each warning and breach notice once (a burst of outbox rows);
# what cron pays every minute after that is what the table measures.
first=$(python3 -c 'import subprocess,sys,time,os; t=time.perf_counter(); r=subprocess.run([sys.argv[1],"ticket","sla","check","--format","json"],env=dict(os.environ,ROLO_TOKEN=sys.argv[2]),stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL); print(f"{(time.perf_counter()-t)*1000:.0f} ms (exit {r.returncode})")' "$bin" "$token")
echo "first \`ticket sla check\` over $TICKETS open tickets (queues the notices): $first" >&2

if [ "${ENCRYPT:-0}" != 0 ]; then
  ROLO_DB_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
  export ROLO_DB_KEY
  ROLO_TOKEN=$token "$bin" -q db encrypt >/dev/null
  echo "encrypted with SQLCipher (raw key from ROLO_DB_KEY)" >&2
fi

sales_token=$(echo "bench-user-password" | "$bin" login --username sales1 --password-stdin --print-token)
support_token=$(echo "bench-user-password" | "$bin" login --username support1 --password-stdin --print-token)

python3 - "$bin" "$RUNS" "$token" "$sales_token" "$support_token" "$CLIENTS" "$CONTRACTS" "$EVENTS" "$TICKETS" <<'PY'
import os, statistics, subprocess, sys, time
bin, runs, admin, sales, support = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
n = sys.argv[6:]
cases = [
    ("client list --limit 20 --format json", admin, "< 15 ms"),
    ("client list --mine --limit 20 --format json", sales, "< 15 ms"),
    ("client list --search casey --limit 20 --format json", admin, "< 30 ms"),
    ("event list --no-support --limit 50", admin, "< 30 ms"),
    ("event list --mine --limit 50 --format json", support, "< 30 ms"),
    ("contract list --unpaid --limit 50", admin, "< 30 ms"),
    ("contract list --unsigned --mine --limit 50", sales, "< 30 ms"),
    ("contract list --unpaid --mine --limit 50 --format json", sales, "< 30 ms"),
    ("whoami --format json", admin, "< 15 ms"),
    ("ticket list --limit 50 --format json", support, "< 30 ms"),
    ("ticket list --assignee @me --status open --limit 50", support, "< 30 ms"),
    ("ticket show 1 --format json", support, "< 15 ms"),
    ("ticket sla check --format json", admin, "< 1 s"),
    ("ticket list --sla breached --limit 50 --format json", support, "< 30 ms"),
    ("client segment show --filter stage=lead --count --format json", admin, "< 30 ms"),
    ("client segment show --filter stage=lead --limit 50 --format json", admin, "< 30 ms"),
    ("client segment show --filter last_contact<-30d --count --format json", admin, "< 30 ms"),
    ("client segment show --filter budget>=10000 --count --format json", admin, "< 30 ms"),
    ("client segment show --filter company~acme --limit 50 --format json", admin, "< 30 ms"),
]
print(f"Database: {n[0]} clients, {n[1]} contracts, {n[2]} events, {n[3]} open tickets; {runs} runs each; release build; `{os.uname().machine}`, {os.cpu_count()} cores.\n")
print("| command | median | p90 | bar |")
print("|---|---:|---:|---|")
for args, token, bar in cases:
    env = dict(os.environ, ROLO_TOKEN=token)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        r = subprocess.run([bin, *args.split()], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        times.append((time.perf_counter() - t) * 1000)
        if r.returncode not in (0, 10, 11):
            sys.exit(f"{args} failed: {r.stderr.decode()}")
    times.sort()
    print(f"| `rolo {args}` | {statistics.median(times):.1f} ms | {times[int(len(times) * 0.9) - 1]:.1f} ms | {bar} |")
PY
[ "${ENCRYPT:-0}" != 0 ] && exit 0

# Import: IMPORT_ROWS rows of CSV into a fresh database, once, next to `sqlite3 .import` of
# the same file into a bare table (when sqlite3 is installed).
IMPORT_ROWS=${IMPORT_ROWS:-1000000}
if [ "$IMPORT_ROWS" -gt 0 ]; then
  imp="$work/import"
  mkdir -p "$imp"
  python3 - "$imp/clients.csv" "$IMPORT_ROWS" <<'PY'
import random, sys
random.seed(3)
first = ["Kevin", "John", "Lou", "Jacky", "Aliénor", "Kate", "Zoë", "Léon", "Marc", "Nina"]
last = ["Casey", "Ouick", "Bouzin", "Blangier", "Vichum", "Hastroff", "O'Brien", "Dupré", "Petit", "Schulz"]
with open(sys.argv[1], "w") as f:
    f.write("name,email,phone,company,stage\n")
    for i in range(int(sys.argv[2])):
        f.write(f"{random.choice(first)} {random.choice(last)},client{i}@import.test,+33 6 {i%100:02d} {i//100%100:02d} {i//10000%100:02d} 00,Company {i%2000},lead\n")
PY
  export ROLO_DB="$imp/import.db"
  echo "bench-admin-password" | "$bin" -q init --admin-username admin --admin-email admin@bench.test --admin-name Admin --password-stdin
  itoken=$(echo "bench-admin-password" | "$bin" login --username admin --password-stdin --print-token)
  python3 - "$bin" "$itoken" "$imp/clients.csv" "$IMPORT_ROWS" <<'PY'
import os, resource, shutil, subprocess, sys, tempfile, time
bin, token, path, rows = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
t = time.perf_counter()
r = subprocess.run([bin, "-q", "client", "import", path], env=dict(os.environ, ROLO_TOKEN=token))
secs = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
if r.returncode != 0:
    sys.exit("import failed")
print(f"\n| `rolo client import` of {rows} CSV rows (e-mail de-duplication, one transaction) | {secs:.1f} s | {rows/secs:,.0f} rows/s | peak {peak:.0f} MiB | bars: >= 200,000 rows/s, < 100 MB |")
if shutil.which("sqlite3"):
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        subprocess.run(["sqlite3", os.path.join(d, "s.db"), "-cmd", ".mode csv", f".import {path} t"], check=True)
        secs = time.perf_counter() - t
        print(f"| `sqlite3 .import` of the same file into a table with no index, same run | {secs:.1f} s | {rows/secs:,.0f} rows/s | | |")
PY
fi

# Campaign sending (issue #10): 100,000 messages to postfix's smtp-sink, and freezing an
# audience of 1,000,000 clients. CAMPAIGN=0 skips it; SEND_ROWS and FREEZE_ROWS size it.
if [ "${CAMPAIGN:-1}" != 0 ]; then
  scripts/bench_campaign.sh
fi

# rolo serve (issue #11): the open pixel and the click redirect under 50 connections (wrk).
# SERVE=0 skips it; DURATION sizes it.
if [ "${SERVE:-1}" != 0 ]; then
  scripts/bench_serve.sh
fi

# The API for applications (issue #12): POST /api/v1/messages under 50 connections (wrk).
# API=0 skips it.
if [ "${API:-1}" != 0 ]; then
  scripts/bench_api.sh
fi

# The client portal (issue #13): each page with 100,000 tickets in the database (wrk, one
# connection). PORTAL=0 skips it; TICKETS sizes it.
if [ "${PORTAL:-1}" != 0 ]; then
  scripts/bench_portal.sh
fi
