from .base import *  # noqa: F401,F403
from .base import CACHES, REDIS_URL, env

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES["default"]["KEY_PREFIX"] = env("IMIS_CACHE_PREFIX", default="imis-test")
# Tests clear the cache (FLUSHDB): give them a Redis database of their own, never the development one.
CACHES["default"]["LOCATION"] = env("IMIS_TEST_CACHE_URL", default=REDIS_URL.rsplit("/", 1)[0] + "/1")
# A running development worker must never take the test suite's tasks.
CELERY_TASK_DEFAULT_QUEUE = "imis-test"
ALLOWED_HOSTS = ["localhost", ".localhost", "127.0.0.1", "testserver", "tenant.test.com"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
LOGGING = {"version": 1, "disable_existing_loggers": False}
