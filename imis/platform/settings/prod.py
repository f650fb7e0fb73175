"""Production: secrets and hosts from the environment, media/exports on object storage, JSON logs, Sentry, metrics.

Every variable read here is listed in docs/operations.md; tests/deploy checks that docker-compose.yml and the
Terraform task definitions give the ones without a default and give no variable the app does not read.
"""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F401,F403
from .base import CACHES, CONTENT_SECURITY_POLICY, DATABASES, IMIS_BASE_DOMAIN, MEDIA_ROOT, MEDIA_URL, STORAGES, env

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[])
if not SECRET_KEY or SECRET_KEY.startswith("dev-"):
    raise ImproperlyConfigured("Production needs DJANGO_SECRET_KEY.")
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("Production needs DJANGO_ALLOWED_HOSTS.")

# --- HTTPS behind a proxy (load balancer / CDN terminates TLS) --------------------------------------------------
# Off only for a plain-HTTP trial (docker-compose.yml on a laptop); never behind TLS.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=3600)
# Every <slug>.<base domain> is IMIS behind the same TLS proxy: the subdomains are HTTPS too.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=True)
# Off by default: the proxy redirects; health checks and metrics scrapes come over plain HTTP from inside.
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
SECURE_REDIRECT_EXEMPT = [r"^health$", r"^metrics$"]
CSRF_TRUSTED_ORIGINS = env.list(
    "DJANGO_CSRF_TRUSTED_ORIGINS", default=[f"https://{IMIS_BASE_DOMAIN}", f"https://*.{IMIS_BASE_DOMAIN}"]
)

# --- Database: persistent connections that survive a database restart -----------------------------------------
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # a connection broken by a restart/failover is replaced
DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int("DJANGO_DB_CONNECT_TIMEOUT", default=5)

# migrate_schemas --executor multiprocessing (docker/entrypoint.sh `migrate`): processes and tenants per chunk.
TENANT_MULTIPROCESSING_MAX_PROCESSES = env.int("IMIS_MIGRATION_PROCESSES", default=2)
TENANT_MULTIPROCESSING_CHUNKS = env.int("IMIS_MIGRATION_CHUNKS", default=2)

# A Redis that is down or unreachable fails fast instead of hanging a request (the cache is optional).
CACHES["default"].setdefault("OPTIONS", {}).update({"socket_connect_timeout": 1, "socket_timeout": 2})

# GeoDjango on a slim image: the Dockerfile points these at libgdal/libgeos_c.
GDAL_LIBRARY_PATH = env("GDAL_LIBRARY_PATH", default=None)
GEOS_LIBRARY_PATH = env("GEOS_LIBRARY_PATH", default=None)

# --- Media and exports: object storage (S3 or compatible) when IMIS_MEDIA_BUCKET is set, else IMIS_MEDIA_ROOT ---
IMIS_MEDIA_BUCKET = env("IMIS_MEDIA_BUCKET", default="")
IMIS_EXPORTS_BUCKET = env("IMIS_EXPORTS_BUCKET", default="") or IMIS_MEDIA_BUCKET
if IMIS_MEDIA_BUCKET:
    _s3 = {
        "region_name": env("AWS_S3_REGION_NAME", default=None),
        "endpoint_url": env("AWS_S3_ENDPOINT_URL", default=None),  # MinIO / another S3-compatible store
        "default_acl": None,  # private bucket: the bucket policy decides, never a public ACL
        "querystring_auth": True,  # downloads are short-lived signed URLs
        "querystring_expire": env.int("IMIS_MEDIA_URL_SECONDS", default=300),
        "file_overwrite": False,
        "object_parameters": {"ServerSideEncryption": "AES256"},
    }
    STORAGES = {
        **STORAGES,
        "default": {"BACKEND": "storages.backends.s3.S3Storage",
                    "OPTIONS": {**_s3, "bucket_name": IMIS_MEDIA_BUCKET, "location": "media"}},
        "exports": {"BACKEND": "storages.backends.s3.S3Storage",
                    "OPTIONS": {**_s3, "bucket_name": IMIS_EXPORTS_BUCKET, "location": "exports"}},
    }
else:
    STORAGES = {
        **STORAGES,
        "exports": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                    "OPTIONS": {"location": str(MEDIA_ROOT / "exports"), "base_url": f"{MEDIA_URL}exports/"}},
    }

# --- Static files: whitenoise behind the CDN; Vite's content-hashed assets are cached for a year ---------------
WHITENOISE_MAX_AGE = env.int("IMIS_STATIC_MAX_AGE", default=300)  # un-hashed files: short, the CDN revalidates
WHITENOISE_IMMUTABLE_FILE_TEST = r"^.+/dist/assets/.+-[A-Za-z0-9_-]{8}\.[a-z0-9]+$"

# --- Celery: a killed worker's task runs again (tasks are idempotent, see ARCHITECTURE.md) ---------------------
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A message taken by a worker that died is delivered again after this long: longer than the longest task.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("IMIS_CELERY_VISIBILITY_TIMEOUT", default=3 * 3600)}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # the worker logs JSON through LOGGING below
CELERY_WORKER_SEND_TASK_EVENTS = env.bool("IMIS_CELERY_EVENTS", default=False)

# --- E-mail: DJANGO_EMAIL_URL (e.g. smtp+tls://user:password@email-smtp.eu-west-1.amazonaws.com:587) -------------
if env("DJANGO_EMAIL_URL", default=""):
    vars().update(env.email_url("DJANGO_EMAIL_URL"))

# --- Logs: JSON lines on stdout, with request id and tenant ---------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "imis.platform.logging.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.server": {"level": "WARNING"},
        "imis.request": {"level": env("IMIS_ACCESS_LOG_LEVEL", default="INFO")},
    },
}

# --- Errors: Sentry, only when SENTRY_DSN is set ---------------------------------------------------------------------
SENTRY_DSN = env("SENTRY_DSN", default="")
if SENTRY_DSN:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    from imis.platform.logging import sentry_before_send

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        environment=env("SENTRY_ENVIRONMENT", default="production"),
        release=env("IMIS_RELEASE", default=None),
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
        send_default_pii=False,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        before_send=sentry_before_send,
    )

# --- Metrics: /metrics on the public host with `Authorization: Bearer <token>`; 404 without a token --------------
IMIS_METRICS_TOKEN = env("IMIS_METRICS_TOKEN", default="")

# Media served from the bucket's own domain (signed URLs) may be shown in pages: allow it as an image source.
if IMIS_MEDIA_BUCKET and env("IMIS_MEDIA_ORIGIN", default=""):
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"] = [
        *CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"], env("IMIS_MEDIA_ORIGIN")
    ]
