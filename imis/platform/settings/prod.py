from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F401,F403
from .base import env

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[])
if not SECRET_KEY or SECRET_KEY.startswith("dev-"):
    raise ImproperlyConfigured("Production needs DJANGO_SECRET_KEY.")
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("Production needs DJANGO_ALLOWED_HOSTS.")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=3600)
