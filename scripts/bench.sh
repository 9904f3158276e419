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

cargo build --release --quiet --bin rolo --example bench_fill --example import_floor
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
# The custom fields of the segment cases (bench_fill gave a budget to 3 clients in 10 and a
# sector to 1 in 2); registering each builds its expression index.
ROLO_TOKEN=$token "$bin" -q client field create budget --type number >/dev/null
ROLO_TOKEN=$token "$bin" -q client field create sector --type choice \
  --choices "Tech,Hôtellerie,Événementiel,Secteur public,Santé,Industrie,Commerce,Banque" >/dev/null

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
    # issue #15: segments on custom fields (count and first 50), searches common and rare,
    # and long listings (streamed: memory stays flat).
    ("client segment show --filter budget>=10000 --limit 50 --format json", admin, "< 30 ms"),
    ("client segment show --filter sector=Tech --count --format json", admin, "< 30 ms"),
    ("client segment show --filter sector=Tech --limit 50 --format json", admin, "< 30 ms"),
    ("client list --search client4242 --limit 20 --format json", admin, "< 30 ms"),
    ("client list --search 4242 --limit 20 --format json", admin, "< 30 ms"),
    ("client list --limit 10000 --format json", admin, "< 30 ms"),
    ("client list --limit 10000", admin, "< 60 ms"),
]
# Whole listings of the database, a few runs each: time and peak memory.
long_cases = [
    ("client list --limit 2000000 --format json", admin, "< 50 MB"),
    ("client list --limit 2000000 --format csv", admin, "< 50 MB"),
]
print(f"Database: {n[0]} clients, {n[1]} contracts, {n[2]} events, {n[3]} open tickets; {runs} runs each; release build; `{os.uname().machine}`, {os.cpu_count()} cores.\n")
def run(args, token):
    """One run: wall milliseconds and the child's own peak RSS in MiB."""
    t = time.perf_counter()
    p = subprocess.Popen([bin, *args.split()], env=dict(os.environ, ROLO_TOKEN=token), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode not in (0, 10, 11):
        sys.exit(f"{args} failed: {err.decode()}")
    return (time.perf_counter() - t) * 1000, usage.ru_maxrss / 1024

print("| command | median | p90 | peak memory | bar |")
print("|---|---:|---:|---:|---|")
for args, token, bar in cases:
    results = [run(args, token) for _ in range(runs)]
    times = sorted(t for t, _ in results)
    peak = max(m for _, m in results)
    print(f"| `rolo {args}` | {statistics.median(times):.1f} ms | {times[int(len(times) * 0.9) - 1]:.1f} ms | {peak:.0f} MiB | {bar} |")
if os.environ.get("ENCRYPT", "0") == "0":
    for args, token, bar in long_cases:
        results = [run(args, token) for _ in range(3)]
        print(f"| `rolo {args}` (3 runs) | {statistics.median(t for t, _ in results):.0f} ms | | {max(m for _, m in results):.0f} MiB | {bar} |")
PY
[ "${ENCRYPT:-0}" != 0 ] && exit 0

# A whole listing of a 10,000-client database (issue #15: JSON < 30 ms, a table < 60 ms).
small="$work/small"
mkdir -p "$small"
echo "bench-admin-password" | ROLO_DB="$small/small.db" "$bin" -q init --admin-username admin --admin-email admin@bench.test --admin-name Admin --password-stdin
stoken=$(echo "bench-admin-password" | ROLO_DB="$small/small.db" "$bin" login --username admin --password-stdin --print-token)
ROLO_DB="$small/small.db" ROLO_TOKEN=$stoken ROLO_NEW_PASSWORD=bench-user-password "$bin" -q user create --username sales1 \
  --email sales1@bench.test --name "Sales 1" --role sales >/dev/null
ROLO_DB="$small/small.db" ROLO_TOKEN=$stoken ROLO_NEW_PASSWORD=bench-user-password "$bin" -q user create --username support1 \
  --email support1@bench.test --name "Support 1" --role support >/dev/null
"$PWD/target/release/examples/bench_fill" "$small/small.db" 10000 0 0 0 >&2
ROLO_DB="$small/small.db" python3 - "$bin" "$RUNS" "$stoken" <<'PY'
import os, statistics, subprocess, sys, time
bin, runs, token = sys.argv[1], int(sys.argv[2]), sys.argv[3]
print("\nDatabase: 10000 clients.\n")
print("| command | median | p90 | peak memory | bar |")
print("|---|---:|---:|---:|---|")
for args, bar in [("client list --limit 100000 --format json", "< 30 ms"), ("client list --limit 100000 --format csv", ""), ("client list --limit 100000", "< 60 ms")]:
    times, peak = [], 0
    for _ in range(runs):
        t = time.perf_counter()
        p = subprocess.Popen([bin, *args.split()], env=dict(os.environ, ROLO_TOKEN=token), stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(p.pid, 0)
        times.append((time.perf_counter() - t) * 1000)
        peak = max(peak, usage.ru_maxrss / 1024)
    times.sort()
    print(f"| `rolo {args}` | {statistics.median(times):.1f} ms | {times[int(len(times) * 0.9) - 1]:.1f} ms | {peak:.0f} MiB | {bar} |")
PY

# Import: IMPORT_ROWS rows of CSV into a fresh database, once, next to the SQL floor of the same
# load (QUALITY.md): examples/import_floor, on the same bundled SQLite, loads the file into a
# scratch table and fills the real tables of another fresh database with `INSERT … SELECT`.
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
  for db in import floor; do
    echo "bench-admin-password" | ROLO_DB="$imp/$db.db" "$bin" -q init --admin-username admin --admin-email admin@bench.test --admin-name Admin --password-stdin
  done
  itoken=$(echo "bench-admin-password" | ROLO_DB="$imp/import.db" "$bin" login --username admin --password-stdin --print-token)
  ROLO_DB="$imp/import.db" python3 - "$bin" "$itoken" "$imp/clients.csv" "$IMPORT_ROWS" "$PWD/target/release/examples/import_floor" "$imp/floor.db" <<'PY'
import os, subprocess, sys, time
bin, token, path, rows, floor, floor_db = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6]
def timed(cmd, env=None):
    t = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{cmd[0]} failed")
    return time.perf_counter() - t, usage.ru_maxrss / 1024, out.decode().strip()
secs, peak, _ = timed([bin, "-q", "client", "import", path], dict(os.environ, ROLO_TOKEN=token))
fsecs, fpeak, steps = timed([floor, floor_db, path])
print(f"\n| what | time | rows/s | peak memory | bar |")
print("|---|---:|---:|---:|---|")
print(f"| `rolo client import` of {rows:,} CSV rows (e-mail de-duplication, one transaction) | {secs:.1f} s | {rows/secs:,.0f} | {peak:.0f} MiB | >= 60,000 rows/s, < 100 MB |")
print(f"| SQL floor, same run (`examples/import_floor`: {steps}) | {fsecs:.1f} s | {rows/fsecs:,.0f} | {fpeak:.0f} MiB | |")
print(f"| ratio import / floor | {secs/fsecs:.2f} | | | <= 1.3 |")
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
