# Shared by the bench scripts (sourced): the tools they install when missing, and free ports.

# Runs apt-get as root, through sudo for another user.
apt_install() {
  local sudo=""
  [ "$(id -u)" != 0 ] && sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "$@" >/dev/null
}

# wrk, the HTTP load generator.
need_wrk() {
  command -v wrk >/dev/null || apt_install wrk
}

# The path of postfix's smtp-sink, installing postfix (unconfigured) when it is missing.
smtp_sink() {
  local sink
  sink=$(command -v smtp-sink || true)
  [ -z "$sink" ] && [ -x /usr/sbin/smtp-sink ] && sink=/usr/sbin/smtp-sink
  if [ -z "$sink" ]; then
    local sudo=""
    [ "$(id -u)" != 0 ] && sudo="sudo"
    echo "postfix main.cf: no configuration" | $sudo debconf-set-selections 2>/dev/null || true
    apt_install postfix
    sink=/usr/sbin/smtp-sink
  fi
  echo "$sink"
}

# A TCP port free on 127.0.0.1 right now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# The release binary and a scratch world for one bench: sets $bin and $work, points Rolo's
# database ($work/NAME.db), config and data there, and on exit stops $server and $sink_pid
# when a script started them and removes $work (kept, and named, with KEEP=1).
bench_world() {
  cargo build --release --quiet --bin rolo
  bin="$PWD/target/release/rolo"
  work=$(mktemp -d)
  server="" sink_pid=""
  trap '[ -n "${server:-}" ] && kill "$server" 2>/dev/null; [ -n "${sink_pid:-}" ] && kill "$sink_pid" 2>/dev/null; [ -n "${KEEP:-}" ] && echo "kept: $work" >&2 || rm -rf "$work"' EXIT
  export ROLO_DB="$work/$1.db" XDG_CONFIG_HOME="$work/config" XDG_DATA_HOME="$work/data" ROLO_TOKEN_STORE=file TZ=UTC
  unset ROLO_TOKEN SENTRY_DSN ROLO_SMTP_URL
}
