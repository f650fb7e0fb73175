"""Map serving at real scale: Khulna's demo city (SEED_SCALE, default 1: 156,052 buildings) in a throwaway
municipality, dropped at the end.

- uncached tile: Django (test client, the tile's cache key deleted before each request) against the bare ST_AsMVT
  SQL (`tile_render`) for the same 30 densest building tiles at z14 and z15, median (target: at most 1.5x);
- cached tiles per second through a real server: gunicorn with the production worker model (gthread, 3 x 4,
  docker/gunicorn.conf.py) on loopback, hit by 6 keep-alive connections like a browser, bounded by count and time;
- a typical screen at z15 (1366 x 860 px: 3 x 3 tiles of the 5 layers shown by default) end to end through that
  server, cold (data version bumped: every tile renders) and cached;
- an OGC API items page of 1,000 buildings through the server, against the page's own SQL (`layer_items`).

The server runs `imis.platform.settings.test` on the test database: DEBUG off like production, and the bench's
cache and session are the server's, so the bench can make tiles cold and log the client in.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django_tenants.utils import tenant_context

from imis.platform.versioning import data_version_bump, data_version_current
from imis.shared_apps.accounts.models import Membership, User
from imis.shared_apps.tenants.demo import demo_figures
from imis.shared_apps.tenants.models import Municipality
from imis.shared_apps.tenants.services import municipality_create
from imis.tenant_apps.maps.layers import LAYERS
from imis.tenant_apps.maps.selectors import layer_items
from imis.tenant_apps.maps.tiles import tile_render
from imis.tenant_apps.registry.demo import demo_city
from imis.tenant_apps.registry.models import Building

pytestmark = pytest.mark.bench
SCALE = float(os.environ.get("SEED_SCALE", "1"))
SLUG = "bench_khulna"
DOMAIN = "bench-khulna.localhost"  # Django's host check takes no underscore
KHULNA = next(city for city in demo_figures() if city["slug"] == "khulna")
ROOT = Path(__file__).resolve().parents[2]
SCREEN_LAYERS = ("wards", "water_bodies", "roads", "buildings", "drains")  # the map page's default layers
CONNECTIONS = 6  # what a browser opens per host
CACHED_REQUESTS = 3000
CACHED_SECONDS = 20.0


def bench_municipality() -> Municipality:
    connection.set_schema_to_public()
    for leftover in Municipality.objects.filter(slug=SLUG):  # a previous run that died half-way
        leftover.delete()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{SLUG}" CASCADE')
    return municipality_create(slug=SLUG, name="Bench Khulna", features=["fsm"], domain=DOMAIN,
                               centroid=tuple(KHULNA["centroid"]))


def bench_municipality_drop(municipality: Municipality) -> None:
    connection.set_schema_to_public()
    municipality.delete()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{SLUG}" CASCADE')


def densest_tiles(z: int, count: int) -> list[tuple[int, int, int]]:
    """The tiles at zoom z holding the most buildings."""
    with connection.cursor() as cursor:
        cursor.execute("""
            WITH c AS (SELECT ST_X(p) AS lon, ST_Y(p) AS lat
                       FROM (SELECT ST_PointOnSurface(footprint) AS p FROM registry_building) s)
            SELECT floor((lon + 180) / 360 * 2 ^ %(z)s)::int AS x,
                   floor((1 - ln(tan(radians(lat)) + 1 / cos(radians(lat))) / pi()) / 2 * 2 ^ %(z)s)::int AS y
            FROM c GROUP BY 1, 2 ORDER BY count(*) DESC, 1, 2 LIMIT %(count)s
        """, {"z": z, "count": count})
        return [(z, x, y) for x, y in cursor.fetchall()]


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at += 1
        if not byte & 0x80:
            return value, at
        shift += 7


def _fields(data: bytes):
    """(field number, value) of a protobuf message: varints as ints, length-delimited fields as bytes."""
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _varint(data, at)
        elif wire == 2:
            size, at = _varint(data, at)
            value, at = data[at:at + size], at + size
        else:
            raise ValueError(f"unexpected wire type {wire}")
        yield number, value


def mvt_feature_ids(tile: bytes) -> list[int]:
    """The feature ids of a vector tile (layer = field 3, feature = field 2, id = field 1), sorted."""
    return sorted(value for layer_number, layer in _fields(tile) if layer_number == 3
                  for feature_number, feature in _fields(layer) if feature_number == 2
                  for number, value in _fields(feature) if number == 1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def gunicorn():
    """A real server on loopback over the test database; stopped (by its own process id) on the way out."""
    database = connection.settings_dict
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "imis.platform.settings.test",
           "DATABASE_URL": f"postgis://{database['USER']}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}"
                           f"/{database['NAME']}"}
    binary = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [str(binary), "imis.platform.wsgi:application", "-b", f"127.0.0.1:{port}", "--workers", "3",
         "--worker-class", "gthread", "--threads", "4", "--keep-alive", "5", "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, _body = fetch(http.client.HTTPConnection("127.0.0.1", port, timeout=5), "/health", {})
                if status == 200:
                    break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start: {server.stderr.read().decode()[-2000:]}")
            time.sleep(0.3)
        yield port
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def fetch(conn: http.client.HTTPConnection, path: str, headers: dict) -> tuple[int, bytes]:
    conn.request("GET", path, headers={"Host": DOMAIN, **headers})
    response = conn.getresponse()
    return response.status, response.read()


class Browser:
    """Six keep-alive connections to the server, like a browser's, one per worker thread."""

    def __init__(self, port: int, cookie: str):
        self.port = port
        self.headers = {"Cookie": f"sessionid={cookie}"}
        self.local = threading.local()
        self.pool = ThreadPoolExecutor(CONNECTIONS)

    def get(self, path: str, headers: dict | None = None) -> tuple[int, bytes]:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            return fetch(conn, path, {**self.headers, **(headers or {})})
        except (http.client.HTTPException, OSError):  # the server closed a kept-alive connection: reconnect once
            conn.close()
            conn = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            return fetch(conn, path, {**self.headers, **(headers or {})})

    def all(self, paths: list[str]) -> tuple[float, list[tuple[int, bytes]]]:
        started = time.perf_counter()
        results = list(self.pool.map(self.get, paths))
        return time.perf_counter() - started, results

    def close(self):
        self.pool.shutdown()


def tile_path(layer: str, z: int, x: int, y: int) -> str:
    return f"/tiles/{layer}/{z}/{x}/{y}.mvt"


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def test_tiles_and_features_at_scale(bench_db, report):
    municipality = bench_municipality()
    user = User.objects.create_user("bench-tiles@bench.test", "imis-demo", full_name="Bench tiles")
    Membership.objects.create(user=user, municipality=municipality, role="viewer")
    label = f"khulna scale {SCALE:g}"
    try:
        connection.set_tenant(municipality)
        started = time.perf_counter()
        demo_city(municipality=municipality, figures=KHULNA, scale=SCALE, seed=42, log=lambda _line: None)
        print(f"\nseeded {SLUG} at scale {SCALE:g} in {time.perf_counter() - started:.0f} s")
        buildings_count = Building.objects.count()
        tiles = densest_tiles(14, 15) + densest_tiles(15, 15)
        connection.set_schema_to_public()
        layer = LAYERS["buildings"]
        client = Client(HTTP_HOST=DOMAIN)
        client.force_login(user)

        # --- 1. one uncached tile: Django against the bare SQL ------------------------------------------
        def bare(z, x, y) -> tuple[float, bytes]:
            with tenant_context(municipality):
                started = time.perf_counter()
                body = tile_render(layer, z, x, y)
                return time.perf_counter() - started, body

        def through_django(z, x, y) -> tuple[float, bytes]:
            with tenant_context(municipality):
                cache.delete(f"tile:{layer.name}:{data_version_current()}:{z}:{x}:{y}")
            started = time.perf_counter()
            response = client.get(tile_path(layer.name, z, x, y))
            elapsed = time.perf_counter() - started
            assert response.status_code == 200
            return elapsed, response.content

        for z, x, y in tiles:  # warm PostgreSQL's buffers and Django's first-request paths
            bare(z, x, y)
            through_django(z, x, y)
        bare_times, django_times, sizes = [], [], []
        for _round in range(3):
            for z, x, y in tiles:
                seconds, expected = bare(z, x, y)
                bare_times.append(seconds)
                seconds, body = through_django(z, x, y)
                django_times.append(seconds)
                if _round == 0:  # the same features (their order, and so the bytes, vary with parallel scans)
                    assert mvt_feature_ids(body) == mvt_feature_ids(expected)
                sizes.append(len(body))
        connection.set_schema_to_public()

        # --- 2-4. through a real server --------------------------------------------------------------
        cookie = client.cookies["sessionid"].value
        with gunicorn() as port:
            browser = Browser(port, cookie)
            try:
                paths = [tile_path(layer.name, *tile) for tile in tiles]
                _seconds, warmed = browser.all(paths)  # fill the server's cache (the same Redis)
                assert all(status == 200 for status, _body in warmed)

                def loop(worker: int) -> int:
                    done, deadline = 0, time.perf_counter() + CACHED_SECONDS
                    for n in range(worker, CACHED_REQUESTS, CONNECTIONS):
                        status, _body = browser.get(paths[n % len(paths)])
                        assert status == 200
                        done += 1
                        if time.perf_counter() > deadline:
                            break
                    return done

                started = time.perf_counter()
                served = sum(browser.pool.map(loop, range(CONNECTIONS)))
                cached_per_second = served / (time.perf_counter() - started)

                z, cx, cy = tiles[len(tiles) // 2]  # the densest z15 tile at the centre of the screen
                screen = [tile_path(name, z, x, y) for name in SCREEN_LAYERS
                          for x in (cx - 1, cx, cx + 1) for y in (cy - 1, cy, cy + 1)]
                cold, warm, screen_bytes = [], [], 0
                for _round in range(3):
                    with tenant_context(municipality):
                        data_version_bump()  # every tile of the municipality is stale: all render afresh
                    seconds, responses = browser.all(screen)
                    assert all(status == 200 for status, _body in responses)
                    cold.append(seconds)
                    screen_bytes = sum(len(body) for _status, body in responses)
                    for _again in range(3):
                        warm.append(browser.all(screen)[0])

                page_times, sql_times = [], []
                offsets = [0, 20_000, 60_000, 100_000, max(0, buildings_count - 1000)]
                for offset in offsets:
                    with tenant_context(municipality):
                        layer_items(LAYERS["buildings"], limit=1000, offset=offset)  # warm: both read warm pages
                        started = time.perf_counter()
                        page = layer_items(LAYERS["buildings"], limit=1000, offset=offset)
                        sql_times.append(time.perf_counter() - started)
                    assert page["numberReturned"] == 1000
                    started = time.perf_counter()
                    status, body = browser.get(f"/ogcapi/collections/buildings/items?limit=1000&offset={offset}",
                                               {"Accept": "application/geo+json"})
                    page_times.append(time.perf_counter() - started)
                    assert status == 200 and body.count(b'"Feature"') == 1000
            finally:
                browser.close()
    finally:
        connection.set_schema_to_public()
        Membership.objects.filter(user=user).delete()
        user.delete()
        bench_municipality_drop(municipality)

    tiles_note = f"{len(tiles)} densest building tiles z14/z15, median {statistics.median(sizes) / 1024:.0f} KiB"
    report.add(f"{label}: uncached tile through Django ({tiles_note})", median_ms(django_times), "ms",
               baseline_name="bare ST_AsMVT SQL", baseline_figure=median_ms(bare_times))
    report.add(f"{label}: cached tiles through gunicorn (3x4 gthread, {CONNECTIONS} connections)", cached_per_second,
               "req/s", higher_is_better=True)
    report.add(f"{label}: screen at z15, {len(screen)} tiles ({screen_bytes / 1024:.0f} KiB), cold", median_ms(cold),
               "ms")
    report.add(f"{label}: screen at z15, {len(screen)} tiles, cached", median_ms(warm), "ms")
    report.add(f"{label}: OGC API items page of 1,000 buildings", median_ms(page_times), "ms",
               baseline_name="the page's SQL (layer_items)", baseline_figure=median_ms(sql_times))
    print(f"load average at the end: {', '.join(f'{value:.1f}' for value in os.getloadavg())} on {os.cpu_count()} CPUs")
    for row in report.rows[-5:]:
        ratio = f" ({row.ratio:.2f}x the baseline's speed)" if row.ratio else ""
        print(f"{row.name}: {row.figure:,.1f} {row.unit}{ratio}")
    assert buildings_count == round(KHULNA["buildings"] * SCALE)
    # the target: an uncached tile costs at most 1.5 x its bare SQL
    assert median_ms(django_times) <= 1.5 * median_ms(bare_times)
