from .base import *  # noqa: F401,F403
from .base import CACHES, env

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES["default"]["KEY_PREFIX"] = env("IMIS_CACHE_PREFIX", default="imis-test")
# A running development worker must never take the test suite's tasks.
CELERY_TASK_DEFAULT_QUEUE = "imis-test"
ALLOWED_HOSTS = ["localhost", ".localhost", "127.0.0.1", "testserver", "tenant.test.com"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
LOGGING = {"version": 1, "disable_existing_loggers": False}
