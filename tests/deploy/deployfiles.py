"""Readers for the deployment files (docker-compose.yml, Dockerfile, .dockerignore, infra/terraform/*.tf) and for the
environment variables the application reads, so the tests can hold one against the other without Docker or Terraform.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"
TERRAFORM = ROOT / "infra" / "terraform"

# Variables read by the libraries and tools themselves rather than by our code.
READ_BY_LIBRARIES = {
    "DJANGO_SETTINGS_MODULE",  # Django
    "PROMETHEUS_MULTIPROC_DIR",  # prometheus-client (multiprocess mode)
    "WEB_CONCURRENCY",  # gunicorn
    "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",  # boto3
}
# Without these the production settings do not load or point at the wrong services.
REQUIRED = {"DJANGO_SETTINGS_MODULE", "DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL",
            "IMIS_BASE_DOMAIN", "IMIS_PUBLIC_HOSTS"}

_PY_ENV = re.compile(
    r"""(?:\benv(?:\.\w+)?\(\s*|os\.environ\.get\(\s*|os\.environ\[\s*|os\.getenv\(\s*|os\.environ\.setdefault\(\s*)"""
    r"""["']([A-Z][A-Z0-9_]*)["']"""
)
_SH_ENV = re.compile(r"\$\{?([A-Z][A-Z0-9_]*)")


@functools.cache
def variables_read_by_app() -> frozenset[str]:
    """Every environment variable named in the code that runs in the containers (+ those libraries read)."""
    names = set(READ_BY_LIBRARIES)
    for path in [*ROOT.joinpath("imis").rglob("*.py"), *ROOT.joinpath("docker").glob("*.py"), ROOT / "manage.py"]:
        names.update(_PY_ENV.findall(path.read_text(encoding="utf-8")))
    for path in ROOT.joinpath("docker").glob("*.sh"):
        names.update(_SH_ENV.findall(path.read_text(encoding="utf-8")))
    return frozenset(names)


# --- docker-compose.yml ---------------------------------------------------------------------------------------------------

@functools.cache
def compose() -> dict:
    import yaml

    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


_INTERPOLATION = re.compile(r"\$\{([A-Z0-9_]+)(?:(:?[-?])([^}]*))?\}")


def interpolate(value: str, environ: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error} with the given environment."""

    def replace(match: re.Match) -> str:
        name, operator, argument = match.group(1), match.group(2), match.group(3) or ""
        if name in environ and (environ[name] or operator not in (":-", ":?")):
            return environ[name]
        if operator in (":-", "-"):
            return argument
        if operator in (":?", "?"):
            raise KeyError(f"{name}: {argument}")
        return ""

    return _INTERPOLATION.sub(replace, str(value))


def service_environment(service: dict, environ: dict[str, str] | None = None) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    if environ is None:
        return {key: str(value) for key, value in raw.items()}
    return {key: interpolate(str(value), environ) for key, value in raw.items()}


def interpolation_names(value: str) -> set[str]:
    return {match.group(1) for match in _INTERPOLATION.finditer(str(value))}


# --- Dockerfile -----------------------------------------------------------------------------------------------------------

@dataclass
class Stage:
    image: str
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, instruction: str) -> list[str]:
        return [args for name, args in self.instructions if name == instruction]

    def text(self, instruction: str) -> str:
        return "\n".join(self.all(instruction))


@dataclass
class Dockerfile:
    global_args: dict[str, str]
    stages: list[Stage]

    def stage(self, name: str) -> Stage:
        return next(stage for stage in self.stages if stage.name == name)

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    def arg_default(self, name: str, stage: Stage | None = None) -> str | None:
        for args in (stage.all("ARG") if stage else []):
            key, _, default = args.partition("=")
            if key.strip() == name and default:
                return default.strip()
        return self.global_args.get(name)


def _logical_lines(text: str) -> list[str]:
    lines, current = [], ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        lines.append(current + stripped)
        current = ""
    if current:
        lines.append(current)
    return lines


@functools.cache
def dockerfile() -> Dockerfile:
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in _logical_lines(DOCKERFILE.read_text(encoding="utf-8")):
        instruction, _, args = line.partition(" ")
        instruction = instruction.upper()
        args = args.strip()
        if instruction == "FROM":
            parts = args.split()
            parts = [part for part in parts if not part.startswith("--")]
            image = parts[0]
            name = parts[2] if len(parts) >= 3 and parts[1].lower() == "as" else str(len(stages))
            stages.append(Stage(image=image, name=name))
        elif not stages:
            if instruction == "ARG":
                key, _, default = args.partition("=")
                global_args[key.strip()] = default.strip()
        else:
            stages[-1].instructions.append((instruction, args))
    return Dockerfile(global_args=global_args, stages=stages)


def resolve_args(value: str, dockerfile_: Dockerfile, stage: Stage | None = None) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda m: dockerfile_.arg_default(m.group(1), stage) or m.group(0), value)


def dockerignore_patterns() -> list[str]:
    return [line.strip() for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.strip().startswith("#")]


def is_docker_ignored(relative: str) -> bool:
    """True when the path (or a parent folder) matches a .dockerignore pattern (no `!` exceptions are used)."""
    parts = Path(relative).parts
    for pattern in dockerignore_patterns():
        pattern = pattern.rstrip("/")
        for depth in range(1, len(parts) + 1):
            candidate = "/".join(parts[:depth])
            if fnmatch.fnmatch(candidate, pattern) or (pattern.startswith("**/")
                                                       and fnmatch.fnmatch(parts[depth - 1], pattern[3:])):
                return True
    return False


# --- Terraform ------------------------------------------------------------------------------------------------------------

@functools.cache
def terraform_files() -> dict[str, dict]:
    import hcl2

    options = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)
    parsed = {}
    for path in sorted(TERRAFORM.glob("*.tf")):
        with path.open(encoding="utf-8") as handle:
            parsed[path.name] = hcl2.load(handle, serialization_options=options)
    return parsed


@dataclass
class Terraform:
    variables: dict[str, dict]
    locals: dict[str, object]
    resources: dict[tuple[str, str], dict]
    data: dict[tuple[str, str], dict]
    outputs: dict[str, dict]
    providers: list[dict]
    text: str  # every .tf file, comments included

    def resource(self, kind: str, name: str) -> dict:
        return self.resources[(kind, name)]

    def of_kind(self, kind: str) -> dict[str, dict]:
        return {name: body for (k, name), body in self.resources.items() if k == kind}


@functools.cache
def terraform() -> Terraform:
    variables, locals_, resources, data, outputs, providers = {}, {}, {}, {}, {}, []
    for _name, parsed in terraform_files().items():
        for block in parsed.get("variable", []):
            variables.update(block)
        for block in parsed.get("locals", []):
            locals_.update(block)
        for block in parsed.get("resource", []):
            for kind, named in block.items():
                for name, body in named.items():
                    resources[(kind, name)] = body
        for block in parsed.get("data", []):
            for kind, named in block.items():
                for name, body in named.items():
                    data[(kind, name)] = body
        for block in parsed.get("output", []):
            outputs.update(block)
        for block in parsed.get("provider", []):
            providers.append(block)
    text = "\n".join(path.read_text(encoding="utf-8") for path in sorted(TERRAFORM.glob("*.tf")))
    return Terraform(variables, locals_, resources, data, outputs, providers, text)


def flatten_strings(value) -> list[str]:
    """Every string inside a parsed HCL value (expressions are strings like "${aws_s3_bucket.media.arn}")."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for key, item in value.items() for s in [str(key), *flatten_strings(item)]]
    if isinstance(value, list):
        return [s for item in value for s in flatten_strings(item)]
    return []


def first(value):
    """A nested block parses as a list of one dict."""
    return value[0] if isinstance(value, list) else value


# --- loading the production settings with a given environment --------------------------------------------------------------

_SETTINGS_PROBE = """
import json
import django
django.setup()
from django.conf import settings
from django.core.files.storage import storages
print(json.dumps({
    "DEBUG": settings.DEBUG,
    "ALLOWED_HOSTS": settings.ALLOWED_HOSTS,
    "IMIS_PUBLIC_HOSTS": settings.IMIS_PUBLIC_HOSTS,
    "IMIS_BASE_DOMAIN": settings.IMIS_BASE_DOMAIN,
    "DATABASE": {k: settings.DATABASES["default"].get(k) for k in ("ENGINE", "HOST", "PORT", "NAME", "USER")},
    "CONN_HEALTH_CHECKS": settings.DATABASES["default"].get("CONN_HEALTH_CHECKS"),
    "CACHE_LOCATION": settings.CACHES["default"]["LOCATION"],
    "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    "CELERY_TASK_DEFAULT_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
    "CELERY_TASK_ACKS_LATE": getattr(settings, "CELERY_TASK_ACKS_LATE", False),
    "MEDIA_ROOT": str(settings.MEDIA_ROOT),
    "STORAGE_DEFAULT": type(storages["default"]).__module__ + "." + type(storages["default"]).__name__,
    "STORAGE_EXPORTS": type(storages["exports"]).__module__ + "." + type(storages["exports"]).__name__,
    "BUCKET": getattr(storages["default"], "bucket_name", None),
    "SESSION_COOKIE_SECURE": settings.SESSION_COOKIE_SECURE,
    "LOG_FORMATTER": settings.LOGGING["formatters"]["json"]["()"],
    "SENTRY_ACTIVE": __import__("sentry_sdk").get_client().is_active(),
}))
"""


def load_settings(environ: dict[str, str]) -> dict:
    """Import the settings named by environ['DJANGO_SETTINGS_MODULE'] in a fresh interpreter with exactly environ."""
    base = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    result = subprocess.run([sys.executable, "-c", _SETTINGS_PROBE], cwd=ROOT, env={**base, **environ},
                            capture_output=True, text=True, timeout=60, check=False)
    if result.returncode != 0:
        raise AssertionError(f"settings did not load:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])

