"""The production Dockerfile, parsed: stages, system libraries, what it copies, how it starts."""

from __future__ import annotations

import json
import os
import re
import tomllib

from .deployfiles import ROOT, dockerfile, dockerignore_patterns, is_docker_ignored, resolve_args


def test_multi_stage_front_end_then_slim_python():
    parsed = dockerfile()
    names = [stage.name for stage in parsed.stages]
    assert names[0] == "frontend" and names[-1] == "runtime" and len(names) >= 3
    frontend = parsed.stage("frontend")
    assert resolve_args(frontend.image, parsed).startswith("node:")
    runs = frontend.text("RUN")
    assert "npm ci" in runs and "npm run build" in runs
    runtime_image = resolve_args(parsed.final.image, parsed)
    assert re.fullmatch(r"python:3\.\d+-slim(-\w+)?", runtime_image), runtime_image


def test_node_version_satisfies_the_front_end_engines():
    parsed = dockerfile()
    node_major = int(re.match(r"node:(\d+)", resolve_args(parsed.stage("frontend").image, parsed)).group(1))
    engines = json.loads((ROOT / "frontend/package.json").read_text(encoding="utf-8"))["engines"]["node"]
    minimum = tuple(int(part) for part in re.search(r">=\s*([\d.]+)", engines).group(1).split("."))
    assert (node_major,) >= minimum[:1] and node_major % 2 == 0, "an LTS Node at or above the engines floor"


def test_python_version_matches_the_project():
    parsed = dockerfile()
    image_version = re.match(r"python:(\d+\.\d+)", resolve_args(parsed.final.image, parsed)).group(1)
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["requires-python"]
    floor = re.search(r">=\s*([\d.]+)", requires).group(1)
    assert tuple(map(int, image_version.split("."))) >= tuple(map(int, floor.split(".")))
    deps = resolve_args(parsed.stage("python-deps").image, parsed)
    assert deps == resolve_args(parsed.final.image, parsed), "packages are built for the runtime's Python"


def test_runtime_has_gdal_geos_and_pg_dump_and_points_geodjango_at_them():
    parsed = dockerfile()
    runs = resolve_args(parsed.final.text("RUN"), parsed, parsed.final)
    for package in ("libgdal32", "libgeos-c1v5", "libproj25", "postgresql-client-15"):
        assert package in runs, f"{package} missing from the runtime image"
    assert "gdal-bin" not in runs, "ogr2ogr is for tests only"
    env = parsed.final.text("ENV")
    assert "GDAL_LIBRARY_PATH=/usr/local/lib/libgdal.so" in env and "GEOS_LIBRARY_PATH=/usr/local/lib/libgeos_c.so" in env
    assert "libgdal.so.32" in runs and "libgeos_c.so.1" in runs  # the symlinks behind those paths
    prod = (ROOT / "imis/platform/settings/prod.py").read_text(encoding="utf-8")
    assert 'env("GDAL_LIBRARY_PATH"' in prod and 'env("GEOS_LIBRARY_PATH"' in prod


def test_front_end_build_lands_where_django_vite_reads_the_manifest():
    parsed = dockerfile()
    vite = (ROOT / "frontend/vite.config.ts").read_text(encoding="utf-8")
    out_dir = re.search(r'outDir:\s*"([^"]+)"', vite).group(1)
    workdir = parsed.stage("frontend").all("WORKDIR")[-1]
    built = os.path.normpath(os.path.join(workdir, out_dir))
    copies = [args for args in parsed.final.all("COPY") if "--from=frontend" in args]
    assert copies, "the runtime copies the built front end"
    source, target = copies[0].split()[-2:]
    assert source == built
    assert target == "/app/" + str((ROOT / "imis/platform/static/dist").relative_to(ROOT))
    assert "manifest.json" in parsed.stage("frontend").text("RUN")


def test_translations_are_compiled_in_the_build():
    parsed = dockerfile()
    assert "msgfmt" in parsed.stage("messages").text("RUN")
    assert any("--from=messages" in args for args in parsed.final.all("COPY"))


def test_copied_sources_exist_and_are_not_ignored():
    parsed = dockerfile()
    for stage in parsed.stages:
        for args in stage.all("COPY"):
            if "--from=" in args:
                continue
            sources = [part for part in args.split() if not part.startswith("--")][:-1]
            for source in sources:
                if source == ".":
                    continue
                assert (ROOT / source).exists(), f"COPY {source}: no such file"
                assert not is_docker_ignored(source.rstrip("/")), f"COPY {source} is excluded by .dockerignore"


def test_dockerignore_keeps_secrets_and_local_state_out():
    patterns = set(dockerignore_patterns())
    assert {".env", ".git", ".venv", "**/node_modules", "var"} <= patterns
    assert is_docker_ignored("frontend/node_modules/vite/package.json")
    assert not is_docker_ignored("imis/platform/settings/prod.py")
    assert not is_docker_ignored("docker/entrypoint.sh")


def test_runtime_runs_as_a_user_with_health_check_and_entrypoint():
    parsed = dockerfile()
    final = parsed.final
    user = final.all("USER")[-1]
    assert user.split(":")[0] not in ("root", "0")
    assert final.all("EXPOSE") == ["8000"]
    healthcheck = final.text("HEALTHCHECK")
    assert "/app/docker/healthcheck.py" in healthcheck and (ROOT / "docker/healthcheck.py").is_file()
    entrypoint = json.loads(final.all("ENTRYPOINT")[-1])
    assert entrypoint[-1] == "/app/docker/entrypoint.sh"
    assert os.access(ROOT / "docker/entrypoint.sh", os.X_OK), "docker/entrypoint.sh must be executable"
    assert json.loads(final.all("CMD")[-1]) == ["web"]


def test_production_settings_are_the_default_and_static_files_are_collected():
    parsed = dockerfile()
    env = parsed.final.text("ENV")
    module = re.search(r"DJANGO_SETTINGS_MODULE=(\S+)", env).group(1)
    assert (ROOT / (module.replace(".", "/") + ".py")).is_file()
    assert module == "imis.platform.settings.prod"
    assert "collectstatic --noinput" in parsed.final.text("RUN")
    media_root = re.search(r"IMIS_MEDIA_ROOT=(\S+)", env).group(1)
    assert media_root in parsed.final.text("RUN"), "the media directory exists and belongs to the app user"


def test_requirements_have_what_production_imports():
    pins = {line.split("==")[0].split("[")[0].lower() for line in
            (ROOT / "requirements.txt").read_text(encoding="utf-8").split() if "==" in line}
    assert {"gunicorn", "sentry-sdk", "prometheus-client", "django-storages", "boto3", "psycopg"} <= pins
