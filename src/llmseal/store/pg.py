"""PostgreSQL plumbing shared by the receipt store, the evidence store and the log.

* :func:`is_postgres_url` — ``postgresql://…`` (or ``postgres://…``) selects PostgreSQL
  wherever a store or log location is given.
* :func:`open_pool` — a psycopg 3 connection pool (autocommit connections: every
  write is one statement, so one round trip and one transaction).
* :func:`migrate` — versioned schema migrations, applied at startup. Each component
  (``receipts``, ``evidence``, ``log``) has a list of migrations; the version
  applied is kept in ``llmseal_schema``. All of it runs in one transaction under an
  advisory lock, so replicas starting together apply each migration once, and a
  database whose version is *newer* than the code is refused before anything is
  touched (an old replica must never write a newer schema it does not understand).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from llmseal.errors import Error, StoreError

if TYPE_CHECKING:
    from psycopg import Connection
    from psycopg_pool import ConnectionPool

__all__ = ["advisory_key", "describe", "is_postgres_url", "migrate", "open_pool", "schema_version"]

_SCHEMES = ("postgresql://", "postgres://")
_SCHEMA_TABLE = """
CREATE TABLE IF NOT EXISTS llmseal_schema (
    component  text PRIMARY KEY,
    version    integer NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""


def is_postgres_url(text: str | None) -> bool:
    return text is not None and text.startswith(_SCHEMES)


def describe(url: str) -> str:
    """The URL without a password (for messages)."""
    scheme, _, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if not at:
        return url
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}@{host}"


def advisory_key(name: str) -> int:
    """A stable 32-bit key for ``pg_advisory_lock`` from a name."""
    return zlib.crc32(f"llmseal:{name}".encode()) - (1 << 31)


def open_pool(
    url: str,
    *,
    max_size: int = 4,
    timeout: float = 3.0,
    error: type[Error] = StoreError,
    name: str = "llmseal",
) -> ConnectionPool[Any]:
    """An open pool of autocommit connections to ``url``; ``error`` if it cannot connect."""
    try:
        import psycopg
        from psycopg_pool import ConnectionPool, PoolTimeout
    except ImportError as exc:  # pragma: no cover - the extra is part of `all`
        raise error("PostgreSQL needs psycopg: pip install 'llmseal[postgres]'") from exc
    pool: ConnectionPool[Any] = ConnectionPool(
        url,
        min_size=1,
        max_size=max_size,
        timeout=timeout,
        kwargs={"autocommit": True, "connect_timeout": max(2, int(timeout))},
        name=name,
        open=False,
        reconnect_timeout=0,  # keep trying while PostgreSQL is away (restarts)
    )
    try:
        pool.open(wait=True, timeout=timeout)
    except (PoolTimeout, psycopg.Error) as exc:
        pool.close()
        raise error(f"cannot connect to PostgreSQL at {describe(url)}: {exc}") from exc
    return pool


def schema_version(conn: Connection[Any], component: str) -> int:
    """The migration version of ``component`` in this database (0: none)."""
    exists = conn.execute("SELECT to_regclass('llmseal_schema') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return 0
    row = conn.execute(
        "SELECT version FROM llmseal_schema WHERE component = %s", (component,)
    ).fetchone()
    return 0 if row is None else int(row[0])


def migrate(
    conn: Connection[Any],
    component: str,
    migrations: Sequence[str],
    *,
    error: type[Error] = StoreError,
    upto: int | None = None,
) -> int:
    """Apply the migrations of ``component`` the database lacks; the version now.

    ``migrations[i]`` takes the schema from version ``i`` to ``i + 1``. ``upto`` stops
    earlier (tests make an old schema with it).

    Raises:
        ``error``: the database is newer than this code, or a migration failed.
    """
    import psycopg

    target = len(migrations) if upto is None else upto
    try:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (advisory_key("schema"),))
            conn.execute(_SCHEMA_TABLE)
            current = schema_version(conn, component)
            if current > len(migrations):
                raise error(
                    f"the database holds {component} schema version {current}, newer than"
                    f" this llmseal understands ({len(migrations)}); upgrade llmseal"
                )
            for version in range(current, target):
                conn.execute(migrations[version])
            if target > current:
                conn.execute(
                    "INSERT INTO llmseal_schema (component, version) VALUES (%s, %s)"
                    " ON CONFLICT (component) DO UPDATE SET version = EXCLUDED.version,"
                    " applied_at = now()",
                    (component, target),
                )
            return max(current, target)
    except psycopg.Error as exc:
        raise error(f"cannot migrate the {component} schema: {exc}") from exc
