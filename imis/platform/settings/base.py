"""Settings shared by every environment; values come from the environment (django-environ)."""

from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parents[3]
env = environ.Env()

SECRET_KEY = env("DJANGO_SECRET_KEY", default="dev-insecure-key-change-me")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", ".localhost", "127.0.0.1"])

# Hosts that serve the public site and the console (no municipality behind them).
IMIS_BASE_DOMAIN = env("IMIS_BASE_DOMAIN", default="localhost")
IMIS_PUBLIC_HOSTS = env.list("IMIS_PUBLIC_HOSTS", default=["localhost", "127.0.0.1"])
IMIS_TEMPLATE_SCHEMA = "imis_template"

SHARED_APPS = [
    "django_tenants",
    "imis.shared_apps.tenants",  # before django_tenants' commands are looked up: overrides migrate_schemas
    "imis.shared_apps.accounts",
    "imis.shared_apps.console",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.gis",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_htmx",
    "django_vite",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_tables2",
    "django_filters",
    "graphene_django",
    "imis.platform",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "imis.tenant_apps.audit",
    "imis.tenant_apps.jobs",
    "imis.tenant_apps.registry",
    "imis.tenant_apps.maps",
    "imis.tenant_apps.fsm",
    "imis.tenant_apps.sewer",
    "imis.tenant_apps.tax",
    "imis.tenant_apps.licences",
    "imis.tenant_apps.water",
    "imis.tenant_apps.payments",
    "imis.tenant_apps.surveys",
    "imis.tenant_apps.kpi",
    "imis.tenant_apps.dataio",
    "imis.tenant_apps.links",
    "imis.tenant_apps.imagery",
]
INSTALLED_APPS = list(SHARED_APPS) + [app for app in TENANT_APPS if app not in SHARED_APPS]
# django_tenants' own commands must not shadow ours (migrate_schemas keeps the template schema current).
INSTALLED_APPS.remove("imis.shared_apps.tenants")
INSTALLED_APPS.insert(0, "imis.shared_apps.tenants")

TENANT_MODEL = "tenants.Municipality"
TENANT_DOMAIN_MODEL = "tenants.Domain"
AUTH_USER_MODEL = "accounts.User"

MIDDLEWARE = [
    "imis.platform.logging.RequestIdMiddleware",
    "imis.platform.metrics.MetricsMiddleware",
    "imis.platform.middleware.MunicipalityMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "imis.platform.middleware.ApiTokenMiddleware",
    "imis.platform.middleware.MunicipalLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "imis.platform.middleware.MembershipMiddleware",
    "imis.platform.middleware.MfaRequiredMiddleware",
    "imis.platform.middleware.SupportAuditMiddleware",
]

ROOT_URLCONF = "imis.platform.urls_tenant"
PUBLIC_SCHEMA_URLCONF = "imis.platform.urls_public"
WSGI_APPLICATION = "imis.platform.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "imis" / "platform" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csrf",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "imis.platform.context_processors.shell",
            ],
        },
    }
]

DATABASE_URL = env("DATABASE_URL", default="postgis://postgres@127.0.0.1:5432/imis")
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
DATABASES["default"]["ENGINE"] = "django_tenants.postgresql_backend"
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=0)
# PostGIS prices its functions high so that big spatial scans get parallel workers; but each worker is a new
# process that first loads PostGIS (~30 ms here), so a page touching a few thousand footprints (a map box, a count)
# ran 10x slower in parallel than alone. Workers only when the plan saves more than that: whole-layer work
# (imports, road links, analyses) still gets them. PGOPTIONS-style, so it holds for every connection we open.
_PG_OPTIONS = DATABASES["default"].setdefault("OPTIONS", {})
_PG_OPTIONS["options"] = (_PG_OPTIONS.get("options", "")
                          + f" -c parallel_setup_cost={env.int('IMIS_PG_PARALLEL_SETUP_COST', default=100_000)}").strip()
ORIGINAL_BACKEND = "django.contrib.gis.db.backends.postgis"
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)
# search_path is set once per request (the middleware sets the tenant), not before every query
TENANT_LIMIT_SET_CALLS = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "imis.platform.cache.ResilientRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env("IMIS_CACHE_PREFIX", default="imis"),
        # Every key carries the schema of the connection it was made on: no tenant reads another's entries.
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
    }
}
SESSION_ENGINE = "django.contrib.sessions.backends.db"

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TASK_DEFAULT_QUEUE = env("IMIS_CELERY_QUEUE", default="imis")
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "Asia/Dhaka"
CELERY_TASK_TENANT_CACHE_SECONDS = 30
# A broker that does not answer within a few quick tries: the job is marked failed at once (jobs.job_enqueue).
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
CELERY_BEAT_SCHEDULE = {
    "refresh-tenant-health": {"task": "imis.platform.tasks.record_tenant_heartbeats", "schedule": 300.0},
    "reconcile-online-payments": {"task": "imis.tenant_apps.payments.tasks.reconcile_all_municipalities",
                                  "schedule": 3600.0},
    "clean-uploaded-files": {"task": "imis.tenant_apps.dataio.tasks.clean_files_all_municipalities",
                             "schedule": 24 * 3600.0},
    "links-sync-utility-customers": {"task": "imis.tenant_apps.links.tasks.links_run_scheduled",
                                     "schedule": 6 * 3600.0, "args": ("utility",)},
    "links-fetch-health-data": {"task": "imis.tenant_apps.links.tasks.links_run_scheduled",
                                "schedule": 24 * 3600.0, "args": ("health",)},
    "links-push-national-indicators": {"task": "imis.tenant_apps.links.tasks.links_run_scheduled",
                                       "schedule": 24 * 3600.0, "args": ("national",)},
}
# Uploaded GIS files and generated exports are removed this many days after upload / after the job finished.
IMIS_UPLOAD_KEEP_DAYS = env.int("IMIS_UPLOAD_KEEP_DAYS", default=14)

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 9}},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
# Failed logins: 10 a minute per address, 5 per 5 minutes per account (then that account is locked out for a while).
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/300s/key"}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "IMIS"
# Accept the code of the step before or after the current one (RFC 6238: phones' clocks drift; a code typed at the
# end of its 30 seconds still counts). A used code is refused for the whole window all the same.
MFA_TOTP_TOLERANCE = 1
# Roles whose accounts must use a second factor (platform staff always do).
IMIS_MFA_REQUIRED_ROLES = ["municipal_admin", "tax_officer", "cashier"]
SUPPORT_SESSION_MINUTES = 60
ACCOUNT_ADAPTER = "imis.shared_apps.accounts.adapter.AccountAdapter"
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = None
LOGIN_REDIRECT_URL = "/"
LOGIN_URL = "/accounts/login/"
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL", default="IMIS <no-reply@imis.localhost>")

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("bn", _("Bangla"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Dhaka"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
MEDIA_ROOT = Path(env("IMIS_MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
DJANGO_VITE = {
    "default": {
        "dev_mode": env.bool("DJANGO_VITE_DEV_MODE", default=False),
        "manifest_path": BASE_DIR / "imis" / "platform" / "static" / "dist" / "manifest.json",
        "static_url_prefix": "dist",
    }
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"
DJANGO_TABLES2_TEMPLATE = "django_tables2/bootstrap5.html"

# Content-Security-Policy: no inline script or style, nothing from other origins.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
    }
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 12 * 3600
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
IMIS_SURVEY_MAX_ATTACHMENT_BYTES = env.int("IMIS_SURVEY_MAX_ATTACHMENT_BYTES", default=10 * 1024 * 1024)
IMIS_SURVEY_MAX_REQUEST_BYTES = env.int("IMIS_SURVEY_MAX_REQUEST_BYTES", default=20 * 1024 * 1024)
IMIS_MAX_UPLOAD_BYTES = env.int("IMIS_MAX_UPLOAD_BYTES", default=300 * 1024 * 1024)
# imagery: the largest GeoTIFF accepted, and how long its conversion to a COG may take
IMIS_IMAGERY_MAX_BYTES = env.int("IMIS_IMAGERY_MAX_BYTES", default=1024 * 1024 * 1024)
IMIS_IMAGERY_CONVERT_SECONDS = env.int("IMIS_IMAGERY_CONVERT_SECONDS", default=1800)

SILENCED_SYSTEM_CHECKS = [
    # Debian 12 ships GDAL 3.6; Django 5.2 asks for 3.9 in a warning only. Everything we use works on 3.6.
    "gis.W001",
]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
