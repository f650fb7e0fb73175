"""Container health check (Dockerfile HEALTHCHECK, docker-compose.yml, the ECS task definitions).

web:    GET /health on a public host; healthy when the app answers and its database is reachable. A Redis outage
        is reported by /health (503, "redis": "error…") but does not make the container unhealthy: pages still
        render without the cache, and replacing the container would not bring Redis back.
worker: the worker answers a broker ping (`celery inspect ping`).
others: the process is running (this script is reached).
"""

import http.client
import json
import os
import socket
import subprocess
import sys


def role() -> str:
    try:
        with open("/app/var/run/imis-role", encoding="utf-8") as handle:
            return handle.read().strip() or "web"
    except OSError:
        return "web"


def web() -> int:
    host = (os.environ.get("IMIS_PUBLIC_HOSTS", "localhost").split(",")[0].strip()) or "localhost"
    connection = http.client.HTTPConnection("127.0.0.1", int(os.environ.get("PORT", "8000")), timeout=4)
    try:
        connection.request("GET", "/health", headers={"Host": host})
        response = connection.getresponse()
        body = json.loads(response.read() or b"{}")
    except (OSError, ValueError) as error:
        print(f"unhealthy: {error}")
        return 1
    if response.status in (200, 503) and body.get("database") == "ok":
        return 0
    print(f"unhealthy: {response.status} {body}")
    return 1


def worker() -> int:
    result = subprocess.run(
        ["celery", "-A", "imis", "inspect", "ping", "--timeout", "10", "--destination",
         f"worker@{socket.gethostname()}"],
        capture_output=True, text=True, timeout=25, check=False,
    )
    return 0 if result.returncode == 0 else 1


if __name__ == "__main__":
    current = role()
    sys.exit(web() if current == "web" else worker() if current == "worker" else 0)
