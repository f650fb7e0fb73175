#!/bin/sh
# One image, one role per container:  web | worker | beat | migrate | manage <command…> | <any command>
# Reads: PORT, WEB_CONCURRENCY, GUNICORN_THREADS, GUNICORN_TIMEOUT (docker/gunicorn.conf.py), CELERY_CONCURRENCY,
#        IMIS_CELERY_QUEUE, IMIS_MIGRATION_EXECUTOR, PROMETHEUS_MULTIPROC_DIR, DATABASE_URL, ECS_CONTAINER_METADATA_URI_V4.
set -eu
cd /app
role="${1:-web}"
[ "$#" -gt 0 ] && shift
echo "$role" > /app/var/run/imis-role

wait_for_database() {
  # libpq does not know the postgis:// scheme Django uses; the rest of the URL is the same.
  url="$(printf '%s' "${DATABASE_URL:?DATABASE_URL is required}" | sed -e 's#^postgis://#postgresql://#' -e 's#^postgres://#postgresql://#')"
  tries=0
  until pg_isready -q -d "$url"; do
    tries=$((tries + 1))
    if [ "$tries" -ge 60 ]; then echo "database not ready after 120 s" >&2; exit 1; fi
    sleep 2
  done
}

# On ECS (awsvpc) the load balancer's health check calls /health with the task's own IP as Host: allow that host and
# serve it the public site. The IP comes from the task metadata endpoint ECS gives every container.
if [ -n "${ECS_CONTAINER_METADATA_URI_V4:-}" ]; then
  task_ip="$(python - <<'PY' || true
import json, os, urllib.request
with urllib.request.urlopen(os.environ["ECS_CONTAINER_METADATA_URI_V4"], timeout=2) as response:
    print(json.load(response)["Networks"][0]["IPv4Addresses"][0])
PY
)"
  if [ -n "$task_ip" ]; then
    export DJANGO_ALLOWED_HOSTS="${DJANGO_ALLOWED_HOSTS:-},${task_ip}"
    export IMIS_PUBLIC_HOSTS="${IMIS_PUBLIC_HOSTS:-localhost},${task_ip}"
  fi
fi

case "$role" in
  web)
    # Prometheus multiprocess mode: every gunicorn worker writes its counters here; start from an empty dir.
    if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then rm -rf "$PROMETHEUS_MULTIPROC_DIR"; mkdir -p "$PROMETHEUS_MULTIPROC_DIR"; fi
    exec gunicorn --config /app/docker/gunicorn.conf.py imis.platform.wsgi:application "$@"
    ;;
  worker)
    exec celery -A imis worker --loglevel INFO --queues "${IMIS_CELERY_QUEUE:-imis}" \
      --concurrency "${CELERY_CONCURRENCY:-2}" --hostname "worker@%h" "$@"
    ;;
  beat)
    # Exactly one beat per deployment (docker-compose: one container; Terraform: desired_count = 1).
    exec celery -A imis beat --loglevel INFO --schedule /app/var/run/celerybeat-schedule "$@"
    ;;
  migrate)
    # Public schema, every municipality (in parallel: django-tenants' multiprocessing executor), then the template
    # schema new municipalities are copied from. Safe to re-run; run it once per release, before web/worker start.
    wait_for_database
    exec python manage.py migrate_schemas --noinput --executor "${IMIS_MIGRATION_EXECUTOR:-multiprocessing}" "$@"
    ;;
  manage)
    exec python manage.py "$@"
    ;;
  *)
    exec "$role" "$@"
    ;;
esac
