#!/usr/bin/env bash
# Installs what is missing and starts what is not running. Safe and fast to re-run.
#   scripts/setup.sh          everything `make run` needs (and migrates the development database)
#   scripts/setup.sh test     everything `make test` needs (pytest makes its own database)
set -euo pipefail
cd "$(dirname "$0")/.."
MODE="${1:-run}"
PY=.venv/bin/python
STAMPS=var/stamps
mkdir -p "$STAMPS" var/media var/staticfiles artifacts/screenshots
say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }

# --- system packages (Debian/Ubuntu) ------------------------------------------------------------------
PG_MAJOR=$( (ls /etc/postgresql 2>/dev/null || true) | sort -n | tail -n 1)
PG_MAJOR=${PG_MAJOR:-15}
APT_PACKAGES="postgresql-${PG_MAJOR}-postgis-3 postgresql-${PG_MAJOR}-postgis-3-scripts postgresql-client-${PG_MAJOR} gdal-bin \
libgdal-dev libgeos-c1v5 libproj-dev chromium fonts-liberation fonts-beng gettext redis-server poppler-utils libpango-1.0-0 libpangoft2-1.0-0"
missing=""
for pkg in $APT_PACKAGES; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
# headers are only wanted where a wheel is missing; do not insist on them
missing=$(echo "$missing" | tr ' ' '\n' | grep -v -e '^libgdal-dev$' -e '^libproj-dev$' | tr '\n' ' ' | xargs || true)
if [ -n "$missing" ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    say "installing system packages:$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
  else
    echo "Missing system packages:$missing"
    echo "Install them with: sudo apt-get install -y$missing"
    exit 1
  fi
fi

# --- services: PostgreSQL and Redis, when local and not running ----------------------------------------
DATABASE_URL="${DATABASE_URL:-postgis://postgres@127.0.0.1:5432/imis}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
export DATABASE_URL REDIS_URL
case "$DATABASE_URL" in
  *@127.0.0.1*|*@localhost*)
    if ! pg_isready -q -h 127.0.0.1 -p 5432; then
      say "starting PostgreSQL $PG_MAJOR"
      pg_ctlcluster --skip-systemctl-redirect "$PG_MAJOR" main start || pg_ctlcluster "$PG_MAJOR" main start
      for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
    fi ;;
esac
case "$REDIS_URL" in
  redis://127.0.0.1*|redis://localhost*)
    if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
      say "starting Redis"
      mkdir -p /tmp/imis-redis
      redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no --dir /tmp/imis-redis
      for _ in $(seq 1 20); do redis-cli ping >/dev/null 2>&1 && break; sleep 0.25; done
    fi ;;
esac

# --- Python -------------------------------------------------------------------------------------------
if [ ! -x "$PY" ]; then
  say "creating .venv"
  python3 -m venv .venv
fi
if [ ! -f "$STAMPS/requirements" ] || [ requirements.txt -nt "$STAMPS/requirements" ]; then
  say "installing Python packages"
  .venv/bin/pip install -q --disable-pip-version-check -r requirements.txt
  touch "$STAMPS/requirements"
fi

# --- front end ----------------------------------------------------------------------------------------
if [ ! -d frontend/node_modules ] || [ frontend/package-lock.json -nt "$STAMPS/npm" ]; then
  say "installing front-end packages"
  (cd frontend && npm ci --no-audit --no-fund --loglevel=error)
  touch "$STAMPS/npm"
fi
MANIFEST=imis/platform/static/dist/manifest.json
if [ ! -f "$MANIFEST" ] || [ -n "$(find frontend/src frontend/vite.config.ts frontend/package-lock.json -newer "$MANIFEST" -print -quit)" ]; then
  say "building the front end"
  (cd frontend && npm run build --silent >/dev/null) || { echo "front-end build failed:"; (cd frontend && npm run build); exit 1; }
fi

# --- translations -------------------------------------------------------------------------------------
for po in locale/*/LC_MESSAGES/django.po; do
  mo="${po%.po}.mo"
  if [ ! -f "$mo" ] || [ "$po" -nt "$mo" ]; then msgfmt --check -o "$mo" "$po"; fi
done

# --- database -----------------------------------------------------------------------------------------
$PY scripts/ensure_database.py
if [ "$MODE" = "run" ]; then
  $PY manage.py migrate_schemas --noinput -v 0
fi
