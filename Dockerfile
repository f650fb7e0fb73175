# syntax=docker/dockerfile:1.7
# IMIS production image: front-end build -> translations -> Python packages -> slim runtime with GDAL/GEOS and
# pg_dump. One image for every role: `web`, `worker`, `beat`, `migrate`, `manage …` (docker/entrypoint.sh).
#   docker build -t imis .
# PG_MAJOR must equal the PostgreSQL server's major version: new municipalities are copied from a template schema
# with pg_dump, and pg_dump refuses a newer server (docker-compose.yml: postgis/postgis:15-3.4; Terraform:
# var.postgres_version). tests/deploy checks that the three agree.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG NODE_IMAGE=node:22-bookworm-slim

# --- 1. front end: Vite builds frontend/ into imis/platform/static/dist --------------------------------------------
FROM ${NODE_IMAGE} AS frontend
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY frontend/ ./
RUN npm run build && test -f /src/imis/platform/static/dist/manifest.json

# --- 2. translations: .po -> .mo (gettext stays out of the runtime image) -------------------------------------------
FROM debian:bookworm-slim AS messages
RUN apt-get update && apt-get install -y --no-install-recommends gettext && rm -rf /var/lib/apt/lists/*
COPY locale/ /src/locale/
RUN for po in /src/locale/*/LC_MESSAGES/django.po; do msgfmt --check -o "${po%.po}.mo" "$po"; done

# --- 3. Python packages into a virtualenv (every pinned package has a manylinux wheel: no compiler) ----------------
FROM ${PYTHON_IMAGE} AS python-deps
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
RUN /opt/venv/bin/pip install -r /tmp/requirements.txt

# --- 4. runtime --------------------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ARG PG_MAJOR=15
# libgdal32/libgeos-c1v5/libproj25: GeoDjango (Debian 12: GDAL 3.6, silenced gis.W001);
# postgresql-client-${PG_MAJOR}: pg_dump/psql for the template schema copy; gdal-bin is for tests only, not here.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libgdal32 libgeos-c1v5 libproj25 postgresql-client-${PG_MAJOR} tini ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s "/usr/lib/$(uname -m)-linux-gnu/libgdal.so.32" /usr/local/lib/libgdal.so \
 && ln -s "/usr/lib/$(uname -m)-linux-gnu/libgeos_c.so.1" /usr/local/lib/libgeos_c.so \
 && groupadd --system --gid 10001 imis \
 && useradd --system --uid 10001 --gid imis --home-dir /app --shell /usr/sbin/nologin imis

ENV PATH="/opt/venv/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=imis.platform.settings.prod \
    GDAL_LIBRARY_PATH=/usr/local/lib/libgdal.so \
    GEOS_LIBRARY_PATH=/usr/local/lib/libgeos_c.so \
    IMIS_MEDIA_ROOT=/app/var/media \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus

WORKDIR /app
COPY --from=python-deps /opt/venv /opt/venv
COPY --chown=imis:imis . /app
COPY --from=frontend --chown=imis:imis /src/imis/platform/static/dist /app/imis/platform/static/dist
COPY --from=messages --chown=imis:imis /src/locale /app/locale

# Static files collected and compressed at build time (the settings need a secret and hosts to load: dummies here).
RUN DJANGO_SECRET_KEY=collectstatic-only DJANGO_ALLOWED_HOSTS=build.invalid \
      python manage.py collectstatic --noinput -v 0 \
 && mkdir -p /app/var/media /app/var/run \
 && chown -R imis:imis /app/var \
 && chmod 0755 /app/docker/entrypoint.sh

USER imis:imis
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "/app/docker/healthcheck.py"]
ENTRYPOINT ["/usr/bin/tini", "--", "/app/docker/entrypoint.sh"]
CMD ["web"]
