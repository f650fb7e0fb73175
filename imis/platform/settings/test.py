from .base import *  # noqa: F401,F403
from .base import CACHES, REDIS_URL, env

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES["default"]["KEY_PREFIX"] = env("IMIS_CACHE_PREFIX", default="imis-test")
# Tests clear the cache (FLUSHDB): give them a Redis database of their own, never the development one.
# With pytest-xdist each worker has its own test database, Redis database and Celery queue.
XDIST_WORKER = env("PYTEST_XDIST_WORKER", default="")
_WORKER_NUMBER = int(XDIST_WORKER[2:]) if XDIST_WORKER.startswith("gw") else -1
CACHES["default"]["LOCATION"] = env("IMIS_TEST_CACHE_URL",
                                    default=REDIS_URL.rsplit("/", 1)[0] + f"/{2 + _WORKER_NUMBER}")
# A running development worker must never take the test suite's tasks.
CELERY_TASK_DEFAULT_QUEUE = env("IMIS_TEST_CELERY_QUEUE", default="imis-test") + (f"-{XDIST_WORKER}" if XDIST_WORKER else "")
ALLOWED_HOSTS = ["localhost", ".localhost", "127.0.0.1", "testserver", "tenant.test.com"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
LOGGING = {"version": 1, "disable_existing_loggers": False}
