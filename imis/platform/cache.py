"""The cache is optional: an unreachable Redis is a miss, so pages and tiles still render (slower)."""

import logging

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)
DOWN = (RedisConnectionError, RedisTimeoutError, OSError)


class ResilientRedisCache(RedisCache):
    def _safe(self, name, fallback, *args, **kwargs):
        try:
            return getattr(super(), name)(*args, **kwargs)
        except DOWN as error:
            log.warning("cache unavailable (%s): %s is a miss", type(error).__name__, name)
            return fallback

    def get(self, key, default=None, version=None):
        return self._safe("get", default, key, default, version)

    def set(self, *args, **kwargs):
        return self._safe("set", None, *args, **kwargs)

    def add(self, *args, **kwargs):
        return self._safe("add", False, *args, **kwargs)

    def touch(self, *args, **kwargs):
        return self._safe("touch", False, *args, **kwargs)

    def delete(self, *args, **kwargs):
        return self._safe("delete", False, *args, **kwargs)

    def get_many(self, *args, **kwargs):
        return self._safe("get_many", {}, *args, **kwargs)

    def set_many(self, *args, **kwargs):
        return self._safe("set_many", [], *args, **kwargs)

    def delete_many(self, *args, **kwargs):
        return self._safe("delete_many", None, *args, **kwargs)

    def has_key(self, *args, **kwargs):
        return self._safe("has_key", False, *args, **kwargs)

    def incr(self, *args, **kwargs):
        try:
            return super().incr(*args, **kwargs)
        except DOWN as error:
            raise ValueError("cache unavailable") from error
