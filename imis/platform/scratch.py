"""A transaction's own working schema, for set-based work over many rows (imports, bulk road links).

Temporary tables are private to the session, so PostgreSQL's parallel workers cannot read them and every query over
them runs on one core. Unlogged tables in a schema of their own, created inside the transaction, can be scanned in
parallel, are invisible to every other session until a commit (they never get one: the schema is dropped before),
and disappear with a rollback like everything else the transaction did. The schema goes first on the search path
for the rest of the block, so the work's SQL names its tables without a schema; and the block's whole-layer
statements get PostgreSQL's default price for parallel workers (our connections raise it, for small queries).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

WHOLE_LAYER_PARALLEL_SETUP_COST = 1000  # PostgreSQL's default


@contextmanager
def scratch_schema(prefix: str) -> Iterator[str]:
    """Use directly inside `transaction.atomic()`: on success the schema is dropped and the search path put back;
    when an exception leaves the block, the atomic block's rollback removes both."""
    if not connection.in_atomic_block:
        raise RuntimeError("scratch_schema() needs a transaction (transaction.atomic())")
    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('search_path'), current_setting('parallel_setup_cost')")
        search_path, setup_cost = cursor.fetchone()
        cursor.execute(f'CREATE SCHEMA "{name}"')
        cursor.execute("SELECT set_config('search_path', %s, true), set_config('parallel_setup_cost', %s, true)",
                       [f'"{name}", {search_path}', str(WHOLE_LAYER_PARALLEL_SETUP_COST)])
    yield name
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA "{name}" CASCADE')
        cursor.execute("SELECT set_config('search_path', %s, true), set_config('parallel_setup_cost', %s, true)",
                       [search_path, setup_cost])
