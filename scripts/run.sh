#!/usr/bin/env bash
# Serves IMIS on :8000 with a Celery worker (and beat); Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p var/log
.venv/bin/celery -A imis worker -B -l info --concurrency 2 -Q "${IMIS_CELERY_QUEUE:-imis}" \
  --schedule var/celerybeat-schedule >var/log/celery.log 2>&1 &
WORKER=$!
trap 'kill $WORKER 2>/dev/null || true' EXIT INT TERM
.venv/bin/python manage.py demo_info
exec_args=(manage.py runserver 0.0.0.0:8000)
.venv/bin/python "${exec_args[@]}"
