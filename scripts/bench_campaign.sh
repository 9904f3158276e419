#!/usr/bin/env bash
# Campaign sending, release build (issue #10), on the demo database plus imported recipients:
#   - SEND_ROWS recipients (default 100,000) sent to postfix's `smtp-sink` on 127.0.0.1:
#     messages/s, peak memory, and the sink's own count of messages received;
#   - freezing an audience of FREEZE_ROWS clients (default 1,000,000; 0 skips it): the whole
#     `campaign send` up to the first connection, against a closed port.
# DKIM=rsa or DKIM=ed25519 signs the messages with a fresh key (openssl).
# Installs postfix (for smtp-sink) when it is missing. Called by scripts/bench.sh; runs alone too.
set -euo pipefail
cd "$(dirname "$0")/.."
SEND_ROWS=${SEND_ROWS:-100000}
FREEZE_ROWS=${FREEZE_ROWS:-1000000}
WORKERS=${WORKERS:-8}

source scripts/lib.sh
sink=$(smtp_sink)

bench_world campaign

"$bin" -q init --demo >/dev/null
login() { echo "$1-demo-password" | "$bin" login --username "$1" --password-stdin --print-token; }
admin=$(login admin) mark=$(login mark) mia=$(login mia)

# Recipients: SEND_ROWS in group "Bench send", the rest up to FREEZE_ROWS in "Bench freeze".
python3 - "$work" "$SEND_ROWS" "$FREEZE_ROWS" <<'PY'
import sys
work, send, freeze = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
first = ["Zoë", "Aliénor", "Léon", "Kevin", "Nina", "Jean-François", "O'Brien", "Amélie"]
def write(path, start, end):
    with open(path, "w") as f:
        f.write("name,email,consent\n")
        for i in range(start, end):
            f.write(f"{first[i % len(first)]} Destinataire{i},dest{i}@bulk{i % 500}.example,granted\n")
write(f"{work}/send.csv", 0, send)
write(f"{work}/freeze.csv", send, max(send, freeze))
PY
ROLO_TOKEN=$admin "$bin" -q client import "$work/send.csv" --group "Bench send" >/dev/null

cat >"$work/t.html" <<'HTML'
<html><head><style>p { color: #1f2a44; font-family: Georgia, serif } .foot { color: #666; font-size: 12px }</style></head>
<body><p>Bonjour {{ client.first_name }},</p>
<p>L'Institut vous invite à sa formation « Fiscalité des indépendants », le 14 janvier à Lyon.</p>
<p><a href="https://institut.example/formations/fiscalite">Voir le programme</a></p>
<p class="foot">{{ client.email }} · <a href="{{ unsubscribe_url }}">Se désabonner</a></p></body></html>
HTML
ROLO_TOKEN=$mark "$bin" -q campaign template create bench-invite --kind campaign \
  --subject "Invitation, {{ client.first_name }}" --html-file "$work/t.html" >/dev/null

campaign() { # NAME --audience A… → the id of an approved campaign
  local id name=$1
  shift
  id=$(ROLO_TOKEN=$mark "$bin" campaign create --name "$name" --template bench-invite "$@" \
    --from "Institut <news@institut.example>" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  ROLO_TOKEN=$mark "$bin" -q campaign submit "$id" >/dev/null
  ROLO_TOKEN=$mia "$bin" -q campaign approve "$id" >/dev/null
  echo "$id"
}
send_id=$(campaign "Bench send" --audience "group:Bench send")

port=$(free_port)
"$sink" -u nobody -c "127.0.0.1:$port" 1000 >"$work/sink.log" 2>&1 &
sink_pid=$!
sleep 0.5
mkdir -p "$XDG_CONFIG_HOME/rolo"
printf '[campaign]\nworkers = %s\n' "$WORKERS" >"$XDG_CONFIG_HOME/rolo/config.toml"
case "${DKIM:-}" in
  rsa) openssl genrsa -out "$work/dkim.pem" 2048 2>/dev/null ;;
  ed25519) openssl genpkey -algorithm ed25519 -out "$work/dkim.pem" ;;
esac
if [ -n "${DKIM:-}" ]; then
  printf '[dkim]\nselector = "bench"\nkey_file = "%s"\n' "$work/dkim.pem" >>"$XDG_CONFIG_HOME/rolo/config.toml"
fi

python3 - "$bin" "$mark" "$send_id" "$port" "$SEND_ROWS" "$work/sink.log" "$WORKERS" <<'PY'
import json, os, re, resource, subprocess, sys, time
bin, token, cid, port, rows, log, workers = sys.argv[1:8]
env = dict(os.environ, ROLO_TOKEN=token, ROLO_SMTP_URL=f"smtp://127.0.0.1:{port}")
t = time.perf_counter()
r = subprocess.run([bin, "campaign", "send", cid, "--yes", "--json"], env=env, capture_output=True, text=True)
secs = time.perf_counter() - t
use = resource.getrusage(resource.RUSAGE_CHILDREN)
if r.returncode != 0:
    sys.exit(f"campaign send failed ({r.returncode}): {r.stderr}")
report = json.loads(r.stdout)
time.sleep(0.5)
counts = re.findall(r"mesg=(\d+)", open(log, errors="replace").read())
received = int(counts[-1]) if counts else 0
rows = int(rows)
dkim = os.environ.get("DKIM")
signed = f", DKIM {dkim}" if dkim else ""
print(f"\nCampaign send: {rows:,} recipients, {workers} workers, plain SMTP to postfix smtp-sink on 127.0.0.1{signed}; release build; {os.cpu_count()} cores.\n")
print("| what | figure | bar |")
print("|---|---:|---|")
print(f"| `rolo campaign send` of {rows:,} messages | {secs:.1f} s = **{rows/secs:,.0f} msg/s** | >= 1,000 msg/s |")
print(f"| CPU time of the send (user + system) | {use.ru_utime + use.ru_stime:.1f} s ({(use.ru_utime + use.ru_stime) / rows * 1000:.2f} ms/message) | |")
print(f"| peak memory (RSS) | {use.ru_maxrss / 1024:.0f} MiB | < 150 MB |")
print(f"| sent (send log) / received (smtp-sink count) | {report['sent']:,} / {received:,} | all, once |")
if report["sent"] != rows or received != rows:
    sys.exit(f"expected {rows} messages, the log says {report['sent']} and the sink {received}")
PY

if [ "$FREEZE_ROWS" -gt "$SEND_ROWS" ]; then
  ROLO_TOKEN=$admin "$bin" -q client import "$work/freeze.csv" --group "Bench freeze" >/dev/null
  freeze_id=$(campaign "Bench freeze" --audience "group:Bench send" --audience "group:Bench freeze")
  closed=$(free_port)
  python3 - "$bin" "$mark" "$freeze_id" "$closed" "$FREEZE_ROWS" <<'PY'
import json, os, resource, subprocess, sys, time
bin, token, cid, port, rows = sys.argv[1:6]
env = dict(os.environ, ROLO_TOKEN=token, ROLO_SMTP_URL=f"smtp://127.0.0.1:{port}")
t = time.perf_counter()
r = subprocess.run([bin, "campaign", "send", cid, "--yes", "--json"], env=env, capture_output=True, text=True)
secs = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
frozen = json.loads(r.stdout)["frozen"] if r.stdout.strip() else None
if r.returncode != 8 or frozen != int(rows):
    sys.exit(f"expected exit 8 with {rows} frozen, got {r.returncode}, {frozen}: {r.stderr}")
print(f"| freeze an audience of {int(rows):,} clients (the whole `campaign send` up to a closed port, exit 8) | {secs:.1f} s, peak {peak:.0f} MiB | < 10 s |")
PY
fi
