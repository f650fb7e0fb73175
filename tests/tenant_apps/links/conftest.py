"""A Khulna with two wards, buildings with safe and unsafe sanitation and water customer IDs; links' jobs run
in the test's thread (through Celery's eager apply, so retries happen as in a worker); a local HTTP server."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.cache import cache
from django_tenants.utils import tenant_context

from imis.tenant_apps.links import tasks
from imis.tenant_apps.registry.models import Building
from tests.tenant_apps.registry.factories import square, ward


class Place:
    def __init__(self, world):
        self.world = world
        self.khulna, self.jhenaidah = world.khulna, world.jhenaidah
        with tenant_context(world.khulna):
            self.ward1 = ward(1, -500, -500, 500, 500)
            self.ward2 = ward(2, 500, -500, 1500, 500)
            # ward 1: 4 buildings, 2 unsafe, 100 people; ward 2: 2 buildings, none unsafe, no population
            Building.objects.create(bin="B-1", footprint=square(0, 0), ward=self.ward1, sanitation_system="drain",
                                    population_male=30, population_female=20, water_customer_id="WC-1")
            Building.objects.create(bin="B-2", footprint=square(20, 0), ward=self.ward1,
                                    sanitation_system="open_defecation", population_male=10, population_female=15)
            Building.objects.create(bin="B-3", footprint=square(40, 0), ward=self.ward1,
                                    sanitation_system="sewer", population_male=10, population_female=15,
                                    water_customer_id="wc-3")
            Building.objects.create(bin="B-4", footprint=square(60, 0), ward=self.ward1,
                                    sanitation_system="septic_tank")
            Building.objects.create(bin="B-5", footprint=square(600, 0), ward=self.ward2, sanitation_system="sewer")
            Building.objects.create(bin="B-6", footprint=square(620, 0), ward=self.ward2, sanitation_system="sewer")
        cache.clear()

    def user(self, role, slug="khulna"):
        return self.world.user(role, slug)


@pytest.fixture
def place(world):
    yield Place(world)
    cache.clear()


@pytest.fixture
def run_jobs_now(monkeypatch):
    """Celery's delay() becomes an eager apply() in the caller's schema (retries included, without waiting)."""

    def delay(*args, **kwargs):
        return tasks.link_run_task.apply(args=args, kwargs=kwargs)

    monkeypatch.setattr(tasks.link_run_task, "delay", delay)


class Recorder(BaseHTTPRequestHandler):
    """Answers from the server's script; records each request (method, path, headers, body)."""

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                     "body": body})
        status, payload = self.server.script.pop(0) if len(self.server.script) > 1 else self.server.script[0]
        if callable(payload):
            status, payload = payload(self.server.requests[-1])
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    """`server = http_server([(503, {...}), (200, {...})])`: a local server on a random port answering from the
    script in turn (the last answer repeats); `server.url`, `server.requests`."""
    servers = []

    def start(script):
        server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
        server.script, server.requests = list(script), []
        server.url = f"http://127.0.0.1:{server.server_address[1]}/"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
