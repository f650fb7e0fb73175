"""Faults, on the local stack only (loopback; processes this module starts and stops itself, by their own ids).

1. A Celery worker is SIGKILLed in the middle of an import-like job, then started again: the job finishes, with every
   row written once (bill runs do not exist yet: the job is a stand-in written the way the house rules ask — rows and
   the job's checkpoint in one transaction, the job row locked while a batch is written, acks late).
2. Redis goes down (a redis-server of this module's own on another port, never the shared one): pages still render,
   /health says what is down, and once Redis is back tasks are queued and run again, without restarting anything.
3. PostgreSQL restarts under load: the app recovers without a restart. This one restarts the machine's PostgreSQL
   cluster, so it is skipped unless IMIS_BENCH_FAULTS=1 (never on a shared machine).
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from .test_load import (
    ROOT,
    Process,
    api_tokens,
    bench_database_url,
    connect,
    drop_database,
    free_port,
    python,
    request,
    seeded_stack_database,
    stack_env,
    start_gunicorn,
    start_redis,
    tile_xy,
)

pytestmark = pytest.mark.bench

REDIS_PORT = int(os.environ.get("IMIS_BENCH_REDIS_PORT", "6390"))
QUEUE = f"imis-bench-faults-{os.getpid()}"
SCHEMA = "khulna"

SETTINGS_MODULE = '''
"""Production settings for the fault benches: a message taken by a killed worker comes back after 5 s (not hours).
kombu 5.7 sweeps for such messages every unacked_restore_interval x unacked_restore_throttle seconds (10 x 10 by
default): every 2 s here."""
from imis.platform.settings.prod import *  # noqa: F401,F403

CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 5, "unacked_restore_interval": 2,
                                   "unacked_restore_throttle": 1}
'''

TASKS_MODULE = '''
"""An import-like job for the fault benches: N rows in batches, idempotent and safe to re-run after a crash."""
import os
import time

from celery import shared_task
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context


@shared_task(name="imis_bench.import_rows", acks_late=True, reject_on_worker_lost=True)
def import_rows(schema, job_id, total, batch, pause):
    from imis.tenant_apps.jobs.models import Job
    from imis.tenant_apps.jobs.services import job_progress, job_succeed

    with schema_context(schema):
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO bench_import_runs (job_id, pid) VALUES (%s, %s)", [job_id, os.getpid()])
        if Job.objects.filter(pk=job_id, status=Job.Status.SUCCEEDED).exists():
            return {"rerun": True}
        Job.objects.filter(pk=job_id).update(status=Job.Status.RUNNING, started=timezone.now())
        done = 0
        while True:
            with transaction.atomic():
                # the job row is the checkpoint: locked while a batch is written, so two runs never write the same rows
                job = Job.objects.select_for_update().get(pk=job_id)
                done = int(job.result.get("next", 0))
                if done >= total:
                    break
                size = min(batch, total - done)
                with connection.cursor() as cursor:
                    cursor.execute(
                        "INSERT INTO bench_import_rows (job_id, seq) SELECT %s, g FROM generate_series(%s, %s) g",
                        [job_id, done, done + size - 1])
                Job.objects.filter(pk=job_id).update(result={"next": done + size})
            job_progress(job_id=job_id, done=done + size, total=total)
            time.sleep(pause)
        job_succeed(job_id=job_id, result={"next": done, "rows": done})
    return {"rows": done}
'''


class Stack:
    def __init__(self, workdir: Path, database_url: str, env: dict[str, str], redis: Process):
        self.workdir = workdir
        self.database_url = database_url
        self.env = env
        self.redis = redis
        self.processes: list[Process] = []
        self.tokens: dict[str, str] = {}

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{REDIS_PORT}/0"

    def start_worker(self, name: str) -> Process:
        worker = Process([str(ROOT / ".venv/bin/celery"), "-A", "imis", "worker", "--loglevel", "INFO",
                          "--queues", QUEUE, "--concurrency", "1", "--pool", "prefork",
                          "--include", "imis_bench_tasks", "--hostname", f"{name}@bench",
                          "--without-gossip", "--without-mingle"],
                         env=self.env, log=self.workdir / f"{name}.log")
        self.processes.append(worker)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if "ready." in worker.tail(20000):
                return worker
            assert worker.alive(), worker.tail()
            time.sleep(0.3)
        raise AssertionError(f"worker not ready:\n{worker.tail()}")

    def restart_redis(self) -> None:
        self.redis = start_redis(REDIS_PORT, self.workdir)

    def send(self, job_id: str, *, total: int, batch: int, pause: float) -> None:
        from celery import Celery

        app = Celery("bench-sender", broker=self.redis_url, set_as_current=False)
        app.conf.broker_connection_retry_on_startup = False
        app.conf.broker_transport_options = {"max_retries": 1}
        try:
            app.send_task("imis_bench.import_rows", args=[SCHEMA, job_id, total, batch, pause], queue=QUEUE,
                          retry=True, retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.2})
        finally:
            app.close()

    def new_job(self, key: str) -> str:
        return python(self.env, f"""
from django_tenants.utils import schema_context
from imis.tenant_apps.jobs.services import job_create
with schema_context({SCHEMA!r}):
    print(job_create(kind="bench-import", title="bench import", idempotency_key={key!r}).pk)
""").strip().splitlines()[-1]

    def job(self, job_id: str) -> tuple[str, dict]:
        with connect(self.database_url) as conn:
            return conn.execute(f"SELECT status, result FROM {SCHEMA}.jobs_job WHERE id = %s", (job_id,)).fetchone()

    def rows(self, job_id: str) -> tuple[int, int, int]:
        """(rows, distinct seq, runs) for the job."""
        with connect(self.database_url) as conn:
            count, distinct = conn.execute(
                f"SELECT count(*), count(DISTINCT seq) FROM {SCHEMA}.bench_import_rows WHERE job_id = %s",
                (job_id,)).fetchone()
            runs = conn.execute(f"SELECT count(*) FROM {SCHEMA}.bench_import_runs WHERE job_id = %s",
                                (job_id,)).fetchone()[0]
        return count, distinct, runs

    def wait_job(self, job_id: str, timeout: float) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            status, _ = self.job(job_id)
            if status == "succeeded":
                return time.monotonic() - started
            assert status != "failed", self.job(job_id)
            time.sleep(0.25)
        raise AssertionError(f"job {job_id} not finished after {timeout} s: {self.job(job_id)}")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("faults")
    (workdir / "imis_bench_settings.py").write_text(SETTINGS_MODULE)
    (workdir / "imis_bench_tasks.py").write_text(TASKS_MODULE)
    redis = start_redis(REDIS_PORT, workdir)
    database_url = bench_database_url("faults")
    current = None
    try:
        _, env = seeded_stack_database("faults", f"redis://127.0.0.1:{REDIS_PORT}/0")
        env = stack_env(database_url, f"redis://127.0.0.1:{REDIS_PORT}/0",
                        DJANGO_SETTINGS_MODULE="imis_bench_settings", IMIS_CELERY_QUEUE=QUEUE,
                        PYTHONPATH=f"{workdir}:{ROOT}")
        with connect(database_url) as conn:
            conn.execute(f"CREATE TABLE IF NOT EXISTS {SCHEMA}.bench_import_rows (job_id uuid NOT NULL, seq int NOT NULL)")
            conn.execute(f"CREATE TABLE IF NOT EXISTS {SCHEMA}.bench_import_runs "
                         "(job_id uuid NOT NULL, pid int, started timestamptz NOT NULL DEFAULT now())")
        current = Stack(workdir, database_url, env, redis)
        current.tokens = api_tokens(env)
        yield current
    finally:
        if current is not None:
            for process in current.processes:
                process.stop()
            current.redis.stop()
        redis.stop()
        if os.environ.get("IMIS_BENCH_KEEP_DB") != "1":
            drop_database(database_url)


def test_worker_killed_mid_import_finishes_with_no_duplicate_and_no_lost_row(stack, report):
    total, batch = 20_000, 400
    job_id = stack.new_job(f"kill-{time.time()}")
    worker = stack.start_worker("faults-a")
    stack.send(job_id, total=total, batch=batch, pause=0.1)
    deadline = time.monotonic() + 60
    while stack.rows(job_id)[0] < total // 4:
        assert time.monotonic() < deadline, f"the job did not start:\n{worker.tail()}"
        time.sleep(0.05)
    worker.kill()
    killed = time.monotonic()
    at_kill = stack.rows(job_id)[0]
    time.sleep(1)
    assert stack.rows(job_id)[0] == at_kill < total, "the worker is dead, and the job unfinished"
    assert stack.job(job_id)[0] == "running"

    stack.start_worker("faults-b")
    stack.wait_job(job_id, timeout=90)
    recovered = time.monotonic() - killed
    count, distinct, runs = stack.rows(job_id)
    print(f"\nworker SIGKILL at {at_kill}/{total} rows; restarted; job finished {recovered:.1f} s after the kill "
          f"(runs: {runs}); rows {count}, distinct {distinct}")
    report.add("faults: worker killed mid-import -> job done after", recovered, "s")
    assert runs >= 2, "the task was delivered again"
    assert count == total, f"lost or duplicated rows: {count} != {total}"
    assert distinct == total, "a row was written twice"


def test_redis_down_pages_render_and_tasks_queue_again_when_it_is_back(stack, report):
    port = free_port()
    web = start_gunicorn(stack.env, port, stack.workdir / "gunicorn-redis.log", workers=2, threads=2)
    stack.processes.append(web)
    stack.start_worker("faults-c")
    token = stack.tokens[SCHEMA]
    with connect(stack.database_url) as conn:
        lon, lat = conn.execute("SELECT centroid_lon, centroid_lat FROM tenants_municipality WHERE slug = %s",
                                (SCHEMA,)).fetchone()
    x, y = tile_xy(lon, lat, 15)
    pages = ["/", "/registry/", "/registry/buildings/", f"/tiles/buildings/15/{x}/{y}.mvt",
             "/ogcapi/collections/buildings/items?limit=10"]

    def statuses() -> dict[str, int]:
        return {path: request(port, f"{SCHEMA}.localhost", "GET", path,
                              headers={"Authorization": f"Token {token}"})[0] for path in pages}

    assert set(statuses().values()) == {200}, statuses()
    stack.redis.stop()
    started = time.monotonic()
    during = statuses()
    render_seconds = time.monotonic() - started
    health_status, health_body = request(port, "localhost", "GET", "/health")
    send_error = None
    try:
        stack.send(stack.new_job(f"redis-down-{time.time()}"), total=10, batch=10, pause=0)
    except Exception as error:  # noqa: BLE001 - any failure to enqueue is what we look for
        send_error = error.__class__.__name__
    print(f"\nRedis down: pages {during} in {render_seconds:.1f} s; /health {health_status} {health_body[:120]!r};"
          f" enqueue -> {send_error}")

    stack.restart_redis()
    back = time.monotonic()
    while statuses() != dict.fromkeys(pages, 200) or request(port, "localhost", "GET", "/health")[0] != 200:
        assert time.monotonic() - back < 30, f"not recovered: {statuses()}"
        time.sleep(0.5)
    pages_back = time.monotonic() - back
    job_id = stack.new_job(f"redis-back-{time.time()}")
    stack.send(job_id, total=1000, batch=250, pause=0)
    task_seconds = stack.wait_job(job_id, timeout=60)
    assert stack.rows(job_id)[0] == 1000
    print(f"Redis back: pages and /health 200 after {pages_back:.1f} s; a new task ran in {task_seconds:.1f} s "
          f"(same web and worker processes)")
    report.add("faults: Redis down -> pages answered in", render_seconds, "s")
    report.add("faults: Redis back -> task queued and done in", task_seconds, "s")

    assert web.alive()
    assert health_status == 503 and b'"redis": "error' in health_body
    assert send_error is not None, "enqueueing with Redis down fails loudly (the caller must handle it)"
    failing = {path: status for path, status in during.items() if status != 200}
    assert not failing, f"pages must render without the cache while Redis is down: {failing}"


@pytest.mark.skipif(os.environ.get("IMIS_BENCH_FAULTS") != "1",
                    reason="restarts the machine's PostgreSQL cluster; set IMIS_BENCH_FAULTS=1 on a machine of your own")
def test_postgres_restart_under_load_app_recovers_without_a_restart(stack, report):
    cluster = os.environ.get("IMIS_BENCH_PG_CLUSTER", "15 main").split()
    port = free_port()
    web = start_gunicorn(stack.env, port, stack.workdir / "gunicorn-pg.log", workers=2, threads=2)
    stack.processes.append(web)
    token = stack.tokens[SCHEMA]
    samples: list[tuple[float, int]] = []
    stop = threading.Event()

    def load() -> None:
        deadline = time.monotonic() + 90
        while not stop.is_set() and time.monotonic() < deadline:
            for path in ("/registry/", "/health"):
                try:
                    status = request(port, f"{SCHEMA}.localhost", "GET", path,
                                     headers={"Authorization": f"Token {token}"}, timeout=10)[0]
                except OSError:
                    status = 0
                samples.append((time.monotonic(), status))
            time.sleep(0.05)

    threads = [threading.Thread(target=load, daemon=True) for _ in range(3)]
    for thread in threads:
        thread.start()
    time.sleep(3)
    restart_at = time.monotonic()
    subprocess.run(["pg_ctlcluster", *cluster, "restart"], check=True, timeout=120)
    restarted = time.monotonic()
    time.sleep(10)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    failures = [t for t, status in samples if status != 200 and t >= restart_at]
    after = [status for t, status in samples if t > (max(failures) if failures else restarted)]
    recovered = (max(failures) - restart_at) if failures else 0.0
    print(f"\nPostgreSQL restart took {restarted - restart_at:.1f} s; {len(failures)} failed requests; "
          f"last failure {recovered:.1f} s after the restart began; {len(after)} good requests after")
    report.add("faults: PostgreSQL restart -> errors stop after", recovered, "s")
    assert web.alive(), "gunicorn kept running"
    assert after and all(status == 200 for status in after)
    assert recovered < (restarted - restart_at) + 15
