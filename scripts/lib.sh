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
