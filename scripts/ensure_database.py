"""Create the database named by DATABASE_URL if missing, with PostGIS in it and in template1 (test databases)."""

import os
import sys

import environ
import psycopg

url = os.environ.get("DATABASE_URL", "postgis://postgres@127.0.0.1:5432/imis")
config = environ.Env.db_url_config(url)
params = {
    "host": config.get("HOST") or "127.0.0.1",
    "port": config.get("PORT") or 5432,
    "user": config.get("USER") or "postgres",
    "password": config.get("PASSWORD") or None,
}
name = config["NAME"]


def run(dbname: str, sql: str) -> None:
    with psycopg.connect(dbname=dbname, autocommit=True, **params) as conn:
        conn.execute(sql)


try:
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")
    for dbname in ("template1", name):
        run(dbname, "CREATE EXTENSION IF NOT EXISTS postgis SCHEMA public")
except psycopg.Error as error:
    sys.exit(f"Could not prepare the database {name}: {error}")
