"""PostgreSQL and Redis for scale-out: a fresh migrated database per deployment,
a key prefix per run; both cleaned up afterwards."""

import secrets
import subprocess
import sys
import tempfile
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import redis

from bench.loop import run_async
from bench.servers import server_env

SERVICE_TIMEOUT = 10.0  # one PostgreSQL or Redis admin call
MIGRATE_TIMEOUT = 60.0


async def postgres_admin(admin_url: str, statement: str) -> None:
    conn = await asyncpg.connect(admin_url, timeout=SERVICE_TIMEOUT)
    try:
        await conn.execute(statement, timeout=SERVICE_TIMEOUT * 3)
    finally:
        await conn.close()


def sqlalchemy_url(admin_url: str, database: str) -> str:
    """`postgresql://.../admin_db` -> `postgresql+asyncpg://.../database`."""
    parts = urllib.parse.urlsplit(admin_url)
    return parts._replace(scheme="postgresql+asyncpg", path=f"/{database}").geturl()


def migrate(database_url: str) -> None:
    with tempfile.TemporaryDirectory(prefix="mediation-bench-") as tmp:
        done = subprocess.run(
            [sys.executable, "-m", "mediation", "migrate"],
            env=server_env(Path(tmp), {"MEDIATION_DATABASE_URL": database_url}),
            capture_output=True,
            text=True,
            timeout=MIGRATE_TIMEOUT,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"migrate failed ({done.returncode}):\n{done.stdout}{done.stderr}")


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A new, migrated database with a random name (its SQLAlchemy URL); dropped afterwards."""
    name = "mediation_bench_" + secrets.token_hex(4)
    run_async(postgres_admin(admin_url, f'CREATE DATABASE "{name}"'))
    try:
        url = sqlalchemy_url(admin_url, name)
        migrate(url)
        yield url
    finally:
        run_async(postgres_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def redis_prefix(url: str) -> Iterator[str]:
    """A random key prefix on the Redis at `url`; its keys are deleted afterwards."""
    prefix = "mediation-bench-" + secrets.token_hex(4)
    with redis.Redis.from_url(
        url, socket_connect_timeout=SERVICE_TIMEOUT, socket_timeout=SERVICE_TIMEOUT
    ) as client:
        client.ping()  # fail before any server starts
        try:
            yield prefix
        finally:
            keys = list(client.scan_iter(match=prefix + ":*", count=1000))
            for start in range(0, len(keys), 1000):
                client.delete(*keys[start : start + 1000])
