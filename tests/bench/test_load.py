"""Load: staff pages, tiles, OGC API, /health, GraphQL and payments across the four demo municipalities, at rising
concurrency, against gunicorn (docker/gunicorn.conf.py, production settings) on a loopback port.

Everything runs on this machine: its own database (`<DATABASE_URL name>_bench`, seeded with `seed_demo --scale 0.02`),
a gunicorn started and stopped here, requests to 127.0.0.1 only, each level bounded in time. The generator is a
closed loop of N threads with keep-alive connections (stdlib http.client — locust's gevent monkey-patching does not mix
with pytest-django and psycopg in one process); each "user" repeats a weighted mix of steps for one municipality.
GraphQL and payments steps are probed first and skipped, with a note, while those endpoints answer 404.

This module also holds the helpers for the other benches of the local stack (test_faults, test_migrations_scale).
"""

from __future__ import annotations

import http.client
import json
import math
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

pytestmark = pytest.mark.bench

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv" / "bin" / "python"
BIN = ROOT / ".venv" / "bin"
SLUGS = ("khulna", "jhenaidah", "gazipur", "jashore")
LEVELS = tuple(int(n) for n in os.environ.get("IMIS_BENCH_LEVELS", "1,4,8,16,32").split(","))
SECONDS_PER_LEVEL = float(os.environ.get("IMIS_BENCH_SECONDS", "12"))


# --- helpers for the local stack (used by the other benches too) -----------------------------------------------------------

def bench_database_url(suffix: str) -> str:
    """A database of the bench's own, next to the one DATABASE_URL names (or IMIS_BENCH_DATABASE_URL)."""
    explicit = os.environ.get(f"IMIS_BENCH_DATABASE_URL_{suffix.upper()}")
    if explicit:
        return explicit
    base = urlsplit(os.environ.get("DATABASE_URL", "postgis://postgres@127.0.0.1:5432/imis"))
    host = base.hostname or ""
    assert host in ("127.0.0.1", "localhost", "::1"), "benches run against a local database only"
    return urlunsplit(base._replace(path=f"{base.path.rstrip('/')}_bench_{suffix}"))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stack_env(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """The production settings, pointed at the bench's own database and Redis, for plain HTTP on loopback."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "IMIS_", "PYTEST"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "imis.platform.settings.prod",
        "DJANGO_SECRET_KEY": "bench-secret-key-" + "x" * 40,
        "DJANGO_ALLOWED_HOSTS": "localhost,.localhost,127.0.0.1",
        "IMIS_BASE_DOMAIN": "localhost",
        "IMIS_PUBLIC_HOSTS": "localhost,127.0.0.1",
        "DJANGO_SECURE_COOKIES": "false",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "IMIS_CACHE_PREFIX": "imis-bench",
        "PYTHONPATH": str(ROOT),
    })
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    result = subprocess.run([str(PYTHON), "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=timeout, check=False)
    if result.returncode != 0:
        raise AssertionError(f"manage.py {' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    return result.stdout


def python(env: dict[str, str], code: str, timeout: float = 300) -> str:
    """Run code with Django set up (env's settings) in a fresh interpreter; return its stdout."""
    script = "import django\ndjango.setup()\n" + code
    result = subprocess.run([str(PYTHON), "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=timeout, check=False)
    if result.returncode != 0:
        raise AssertionError(f"script failed:\n{result.stderr[-4000:]}")
    return result.stdout


def ensure_database(env: dict[str, str]) -> None:
    subprocess.run([str(PYTHON), "scripts/ensure_database.py"], cwd=ROOT, env=env, check=True, capture_output=True,
                   timeout=60)


def drop_database(database_url: str) -> None:
    import psycopg

    parts = urlsplit(database_url)
    with psycopg.connect(host=parts.hostname, port=parts.port or 5432, user=parts.username or "postgres",
                         password=parts.password, dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')


def connect(database_url: str):
    import psycopg

    parts = urlsplit(database_url)
    return psycopg.connect(host=parts.hostname, port=parts.port or 5432, user=parts.username or "postgres",
                           password=parts.password, dbname=parts.path.lstrip("/"), autocommit=True)


class Process:
    """A process this bench started, in its own session: stopped by its own process group id, never by name."""

    def __init__(self, args: list[str], *, env: dict[str, str], log: Path, cwd: Path = ROOT):
        self.log_path = log
        self._log = log.open("ab")
        self.popen = subprocess.Popen(args, cwd=cwd, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                      start_new_session=True)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole group: what a crash or an OOM kill does."""
        if self.alive():
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self, timeout: float = 15) -> None:
        if self.alive():
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()

    def tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]


def start_gunicorn(env: dict[str, str], port: int, log: Path, *, workers: int = 3, threads: int = 4) -> Process:
    proc = Process([str(BIN / "gunicorn"), "--config", str(ROOT / "docker/gunicorn.conf.py"),
                    "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--threads", str(threads),
                    "--worker-tmp-dir", tempfile.gettempdir(), "imis.platform.wsgi:application"],
                   env=env, log=log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not proc.alive():
            raise AssertionError(f"gunicorn exited:\n{proc.tail()}")
        try:
            status, _ = request(port, "localhost", "GET", "/health", timeout=2)
            if status in (200, 503):
                return proc
        except OSError:
            pass
        time.sleep(0.3)
    proc.stop()
    raise AssertionError(f"gunicorn did not answer:\n{proc.tail()}")


def start_redis(port: int, workdir: Path) -> Process:
    assert shutil.which("redis-server"), "redis-server is needed"
    proc = Process(["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
                    "--dir", str(workdir)], env=dict(os.environ), log=workdir / f"redis-{port}.log")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return proc
        except OSError:
            time.sleep(0.1)
    proc.stop()
    raise AssertionError(f"redis-server on {port} did not start:\n{proc.tail()}")


def request(port: int, host: str, method: str, path: str, *, headers: dict | None = None, body: bytes | None = None,
            timeout: float = 30, connection: http.client.HTTPConnection | None = None) -> tuple[int, bytes]:
    own = connection is None
    conn = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers={"Host": f"{host}:{port}", **(headers or {})})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        if own:
            conn.close()


def api_tokens(env: dict[str, str], role: str = "viewer") -> dict[str, str]:
    """One API token per demo municipality for `<role>@<slug>.demo` (what `manage.py create_api_token` does)."""
    out = python(env, f"""
import json
from imis.shared_apps.accounts.models import User
from imis.shared_apps.accounts.services import api_token_create
from imis.shared_apps.tenants.models import Municipality
keys = {{}}
for slug in {list(SLUGS)!r}:
    user = User.objects.get(email=f"{role}@{{slug}}.demo")
    _token, keys[slug] = api_token_create(user=user, municipality=Municipality.objects.get(slug=slug), name="bench")
print(json.dumps(keys))
""")
    return json.loads(out.strip().splitlines()[-1])


def seeded_stack_database(suffix: str, redis_url: str) -> tuple[str, dict[str, str]]:
    """The bench database migrated and seeded (idempotent: a second run only checks)."""
    database_url = bench_database_url(suffix)
    env = stack_env(database_url, redis_url)
    ensure_database(env)
    manage(env, "migrate_schemas", "--noinput", "-v", "0", "--executor", "multiprocessing")
    manage(env, "seed_demo", "--scale", os.environ.get("IMIS_BENCH_SEED_SCALE", "0.02"))
    return database_url, env


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return math.nan
    index = min(len(sorted_values) - 1, max(0, math.ceil(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


# --- the scenario ------------------------------------------------------------------------------------------------------------

def tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2 ** z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


@dataclass
class Tenant:
    slug: str
    token: str
    lon: float
    lat: float

    def tile_path(self, rng: random.Random, layer: str) -> str:
        z = rng.choice((14, 15, 16))
        x, y = tile_xy(self.lon, self.lat, z)
        spread = 2 ** (z - 14)
        return f"/tiles/{layer}/{z}/{x + rng.randint(-spread, spread)}/{y + rng.randint(-spread, spread)}.mvt"


GRAPHQL_BODY = json.dumps({"query": "{ me { email } }"}).encode()

# (name, weight, method, path or callable, body)
STEPS = [
    ("page: home", 8, "GET", "/", None),
    ("page: registry", 4, "GET", "/registry/", None),
    ("page: buildings", 6, "GET", "/registry/buildings/", None),
    ("page: holdings", 3, "GET", "/registry/holdings/", None),
    ("page: map", 3, "GET", "/map/", None),
    ("health", 4, "GET", "/health", None),
    ("tile: buildings", 24, "GET", lambda tenant, rng: tenant.tile_path(rng, "buildings"), None),
    ("tile: roads", 10, "GET", lambda tenant, rng: tenant.tile_path(rng, "roads"), None),
    ("ogcapi: buildings?limit=100", 8, "GET", "/ogcapi/collections/buildings/items?limit=100", None),
    ("graphql: me", 6, "POST", "/graphql/", GRAPHQL_BODY),
    ("payments: online list", 3, "GET", "/payments/online/", None),
    ("payments: resident portal", 3, "GET", "/portal/", None),
]
OPTIONAL = {"graphql: me": "/graphql/ (GraphQL)", "payments: online list": "/payments/online/ (payments)",
            "payments: resident portal": "/portal/ (payments portal)"}
# Leave steps out by name, e.g. IMIS_BENCH_SKIP_STEPS="page: map" (reported as a note).
SKIPPED = {name.strip() for name in os.environ.get("IMIS_BENCH_SKIP_STEPS", "").split(",") if name.strip()}


@dataclass
class LevelResult:
    users: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    by_step: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def summary(self) -> dict:
        ordered = sorted(self.latencies)
        return {
            "users": self.users, "requests": self.requests, "rps": self.requests / self.seconds,
            "p50_ms": percentile(ordered, 0.50) * 1000, "p95_ms": percentile(ordered, 0.95) * 1000,
            "p99_ms": percentile(ordered, 0.99) * 1000, "errors": self.error_count,
        }


def run_level(port: int, tenants: list[Tenant], steps: list, users: int, seconds: float) -> LevelResult:
    result = LevelResult(users=users, seconds=seconds)
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    names, weights = [s[0] for s in steps], [s[1] for s in steps]
    by_name = {s[0]: s for s in steps}

    def user(index: int) -> None:
        rng = random.Random(index)
        tenant = tenants[index % len(tenants)]
        headers = {"Authorization": f"Token {tenant.token}", "Accept": "text/html,application/json",
                   "Accept-Encoding": "gzip"}
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        local, local_steps, local_errors = [], [], []
        try:
            while time.monotonic() < stop_at:
                name = rng.choices(names, weights)[0]
                _, _, method, path, body = by_name[name]
                path = path(tenant, rng) if callable(path) else path
                step_headers = dict(headers)
                if body is not None:
                    step_headers["Content-Type"] = "application/json"
                started = time.perf_counter()
                try:
                    status, _ = request(port, f"{tenant.slug}.localhost", method, path, headers=step_headers,
                                        body=body, connection=conn)
                except (OSError, http.client.HTTPException) as error:
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    local_errors.append(f"{name}: {error.__class__.__name__}")
                    continue
                elapsed = time.perf_counter() - started
                local.append(elapsed)
                local_steps.append((name, elapsed))
                if status >= 400 and not (name.startswith("tile") and status == 404):
                    local_errors.append(f"{name}: HTTP {status}")
        finally:
            conn.close()
        with lock:
            result.latencies.extend(local)
            for name, elapsed in local_steps:
                result.by_step[name].append(elapsed)
            for error in local_errors:
                result.errors[error] += 1

    threads = [threading.Thread(target=user, args=(i,), daemon=True) for i in range(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    return result


def probe_optional_steps(port: int, tenant: Tenant) -> tuple[list, list[str]]:
    """Drop the GraphQL/payments steps whose endpoint answers 404 (not built yet), saying so."""
    steps, notes = [], []
    for step in STEPS:
        name, _, method, path, body = step
        if name in SKIPPED:
            notes.append(f"skipped {name}: IMIS_BENCH_SKIP_STEPS")
            continue
        if name in OPTIONAL:
            headers = {"Authorization": f"Token {tenant.token}", "Content-Type": "application/json"}
            status, _ = request(port, f"{tenant.slug}.localhost", method, path, headers=headers, body=body)
            if status == 404:
                notes.append(f"skipped {OPTIONAL[name]}: the endpoint answers 404 (not built yet)")
                continue
            if status == 403:
                notes.append(f"skipped {OPTIONAL[name]}: 403 for the viewer role the bench logs in as")
                continue
        steps.append(step)
    return steps, notes


@pytest.fixture(scope="module")
def load_stack(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("load")
    redis_url = os.environ.get("IMIS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")
    database_url, env = seeded_stack_database("load", redis_url)
    tokens = api_tokens(env)
    with connect(database_url) as conn:
        centroids = dict((slug, (lon, lat)) for slug, lon, lat in conn.execute(
            "SELECT slug, centroid_lon, centroid_lat FROM tenants_municipality"))
    tenants = [Tenant(slug, tokens[slug], *centroids[slug]) for slug in SLUGS]
    port = free_port()
    server = start_gunicorn(env, port, workdir / "gunicorn.log")
    try:
        yield port, tenants, server
    finally:
        server.stop()
        if os.environ.get("IMIS_BENCH_KEEP_DB") != "1":
            drop_database(database_url)


def test_load_rising_concurrency(load_stack, report):
    port, tenants, server = load_stack
    steps, notes = probe_optional_steps(port, tenants[0])
    for tenant in tenants:  # every municipality answers its staff pages and tiles before the clock starts
        for path in ("/", "/registry/buildings/", tenant.tile_path(random.Random(0), "buildings")):
            status, _ = request(port, f"{tenant.slug}.localhost", "GET", path,
                                headers={"Authorization": f"Token {tenant.token}"})
            assert status in (200, 204), f"{tenant.slug}{path}: HTTP {status}"
    run_level(port, tenants, steps, users=2, seconds=2)  # warm-up: imports, connection, caches

    rows = []
    for users in LEVELS:
        level = run_level(port, tenants, steps, users=users, seconds=SECONDS_PER_LEVEL)
        rows.append(level)
        summary = level.summary()
        report.add(f"load {users:>2} users: requests/s", summary["rps"], "req/s", higher_is_better=True)
        report.add(f"load {users:>2} users: p95", summary["p95_ms"], "ms")
        report.add(f"load {users:>2} users: errors", summary["errors"], "requests")

    cores = os.cpu_count()
    print(f"\nLoad on {cores} cores: gunicorn 3 processes x 4 threads, production settings, "
          f"{SECONDS_PER_LEVEL:.0f} s per level, {len(tenants)} municipalities")
    for note in notes:
        print("  note:", note)
    print(f"  {'users':>5} {'requests':>8} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'errors':>6}")
    for level in rows:
        s = level.summary()
        print(f"  {s['users']:>5} {s['requests']:>8} {s['rps']:>7.1f} {s['p50_ms']:>7.1f} {s['p95_ms']:>7.1f} "
              f"{s['p99_ms']:>7.1f} {s['errors']:>6}")
    top = rows[-1]
    print(f"  by step at {top.users} users (p50 / p95 ms, count):")
    for name, values in sorted(top.by_step.items()):
        ordered = sorted(values)
        print(f"    {name:<30} {percentile(ordered, .5) * 1000:7.1f} {percentile(ordered, .95) * 1000:7.1f}"
              f" {len(values):6}")
    results_dir = ROOT / "artifacts" / "bench"
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "load.json").write_text(json.dumps(
        {"cores": cores, "notes": notes, "levels": [level.summary() for level in rows],
         "errors": {str(level.users): dict(level.errors) for level in rows},
         "by_step_p95_ms": {name: percentile(sorted(v), .95) * 1000 for name, v in top.by_step.items()}},
        indent=1))

    assert server.alive()
    for level in rows:
        assert level.requests > 0
        assert level.error_count == 0, f"{level.users} users: {dict(level.errors)}"
    assert statistics.median(rows[-1].latencies) < 5.0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-s", "-q", "-p", "no:cacheprovider"]))
