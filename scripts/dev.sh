#!/usr/bin/env bash
# The two README commands:
#   scripts/dev.sh run    set everything up, migrate SQLite, load the demo, run the server
#   scripts/dev.sh test   set everything up and run the whole test suite (SQLite and PostgreSQL, Chromium)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=$ROOT/.venv
PY=$VENV/bin/python

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

install_debian_packages() {
  local need=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg"); done
  [ ${#need[@]} -eq 0 ] && return 0
  say "installing Debian packages: ${need[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
}

setup_python() {
  if [ ! -x "$PY" ]; then
    say "creating the virtualenv (.venv)"
    python3 -m venv "$VENV"
  fi
  local stamp=$VENV/.requirements.sha256
  local want; want=$(sha256sum requirements.txt | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "installing Python requirements"
    "$PY" -m pip install -q --upgrade pip
    "$PY" -m pip install -q -r requirements.txt
    echo "$want" > "$stamp"
  fi
}

setup_assets() {
  local stamp=node_modules/.package.sha256
  local want; want=$(cat package.json package-lock.json 2>/dev/null | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] || [ ! -d static/vendor ]; then
    say "installing front-end libraries from npm"
    npm install --no-audit --no-fund --omit=optional --loglevel=error
    rm -rf static/vendor && mkdir -p static/vendor/{sortablejs,swagger-ui,socket.io,pdfjs}
    cp node_modules/sortablejs/Sortable.min.js static/vendor/sortablejs/
    cp node_modules/swagger-ui-dist/{swagger-ui-bundle.js,swagger-ui.css} static/vendor/swagger-ui/
    cp node_modules/socket.io-client/dist/socket.io.min.js static/vendor/socket.io/
    cp node_modules/pdfjs-dist/build/{pdf.min.mjs,pdf.worker.min.mjs} static/vendor/pdfjs/
    echo "$want" > "$stamp"
  fi
}

compile_translations() {
  "$VENV/bin/pybabel" compile -f -d meetings/translations >/dev/null
}

setup() {
  # fonts-liberation2: Liberation Serif 2 covers Vietnamese (fonts-liberation 1.07 lacks ộ, ồ, ỉ …)
  install_debian_packages chromium poppler-utils fonts-dejavu-core fonts-liberation2 nginx \
    libpango-1.0-0 libpangoft2-1.0-0 softhsm2 opensc
  setup_python
  setup_assets
  compile_translations
}

ensure_services() {
  # The test suite needs the real PostgreSQL and Redis; start them if this machine has them stopped.
  if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    say "starting PostgreSQL"
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
  if ! (command -v redis-cli >/dev/null && redis-cli -h 127.0.0.1 ping >/dev/null 2>&1); then
    say "starting Redis"
    as_root mkdir -p /var/lib/redis /var/log/redis
    as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  fi
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  pg_isready -h 127.0.0.1 -p 5432 || { echo "PostgreSQL is not reachable on 127.0.0.1:5432" >&2; exit 1; }
}

case "${1:-}" in
  run)
    setup
    export DATA_DIR=${DATA_DIR:-$ROOT/instance}
    say "migrating the database and loading the demo"
    "$VENV/bin/flask" --app meetings db upgrade
    "$VENV/bin/flask" --app meetings seed-demo
    say "starting the server: open http://${HOST:-127.0.0.1}:${PORT:-5000}/ and log in with a demo account above"
    exec "$PY" -m meetings serve --host "${HOST:-127.0.0.1}" --port "${PORT:-5000}"
    ;;
  test)
    setup
    ensure_services
    shift
    say "running the test suite"
    exec "$PY" -m pytest "$@"
    ;;
  *)
    echo "usage: scripts/dev.sh run | test [pytest args]" >&2
    exit 2
    ;;
esac
