"""The template schema: a migrated, empty tenant schema that new municipalities are copied from.

Measured (make bench): restoring a dump of the template is several times faster than running the migrations
or django-tenants' clone_schema, and it grows slower than neither as the schema grows. The template is
migrated by our migrate_schemas (so it is current after every migration) and copied with pg_dump's DDL,
renamed, executed inside the caller's transaction: a failed creation leaves no schema behind.
"""

from __future__ import annotations

import os
import re
import subprocess

from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django_tenants.utils import schema_exists


class TemplateSchemaError(RuntimeError):
    pass


def template_schema_name() -> str:
    return settings.IMIS_TEMPLATE_SCHEMA


def template_schema_migrate(*, verbosity: int = 0) -> None:
    """Create the template schema if missing and apply every tenant migration to it."""
    name = template_schema_name()
    connection.set_schema_to_public()
    if not schema_exists(name):
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{name}"')
    # our migrate_schemas returns right after migrating a named schema: no recursion
    call_command("migrate_schemas", schema_name=name, interactive=False, verbosity=verbosity)
    connection.set_schema_to_public()


def pg_cli_args() -> tuple[list[str], dict]:
    """Connection arguments and environment for pg_dump, from the Django database settings."""
    db = settings.DATABASES["default"]
    args = []
    env = dict(os.environ)
    if db.get("HOST"):
        args += ["-h", str(db["HOST"])]
    if db.get("PORT"):
        args += ["-p", str(db["PORT"])]
    if db.get("USER"):
        args += ["-U", str(db["USER"])]
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return args, env


_SESSION_LINE = re.compile(r"^(SET |SELECT pg_catalog\.set_config|\\)")


def schema_dump_sql(schema: str) -> str:
    """One schema's DDL and rows as SQL (pg_dump --inserts), without session settings or psql commands."""
    if not schema_exists(schema):
        raise TemplateSchemaError(f"The schema {schema} does not exist.")
    args, env = pg_cli_args()
    dump = subprocess.run(
        ["pg_dump", *args, "--schema", schema, "--no-owner", "--no-privileges", "--inserts",
         "--no-comments", settings.DATABASES["default"]["NAME"]],
        capture_output=True, text=True, env=env, check=False,
    )
    if dump.returncode != 0:
        raise TemplateSchemaError(f"pg_dump failed: {dump.stderr.strip()}")
    return "\n".join(line for line in dump.stdout.splitlines() if not _SESSION_LINE.match(line))


def schema_sql_renamed(sql: str, *, source: str, target: str) -> str:
    return re.sub(rf"\b{re.escape(source)}\b", target, sql)


def template_schema_sql(*, target_schema: str) -> str:
    """The template's DDL and rows with every reference renamed to target_schema."""
    return schema_sql_renamed(schema_dump_sql(template_schema_name()), source=template_schema_name(),
                              target=target_schema)


def schema_create_from_template(*, schema_name: str) -> None:
    """Create schema_name as a copy of the template, in the current transaction."""
    sql = template_schema_sql(target_schema=schema_name)
    with connection.cursor() as cursor:
        cursor.execute(sql)
    # pg_dump's script may have moved the session's search_path; make django-tenants set it again.
    connection.search_path_set_schemas = None
