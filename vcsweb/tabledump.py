"""Every database table as JSON lines and back, portable between SQLite and PostgreSQL.

The tables are found in the database itself, not in the models, so a backup
holds every table the migrations made. They are written parents first (in
the order their foreign keys need) and read back in the same order.
"""

import base64
import json
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import IO

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger(__name__)

VERSION_TABLE = "alembic_version"
BATCH = 500


class DumpError(Exception):
    """A database that cannot take a restore, or a dump that does not fit it."""


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """Yield a connection that sees the database as it was at one moment."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            conn.begin()
        else:
            # SQLite in WAL mode keeps one read snapshot for an explicit
            # transaction; each statement would otherwise see the latest data.
            conn.exec_driver_sql("BEGIN")
        try:
            yield conn
        finally:
            conn.rollback()


def tables(conn: Connection) -> list[sa.Table]:
    """Return the data tables of a database, parents before children."""
    meta = sa.MetaData()
    meta.reflect(conn)
    return [t for t in meta.sorted_tables if t.name != VERSION_TABLE]


def revision(conn: Connection) -> str | None:
    """Return the schema revision the migrations left, or None without one."""
    if not sa.inspect(conn).has_table(VERSION_TABLE):
        return None
    return conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def dump(conn: Connection, table: sa.Table, out: IO[str]) -> int:
    """Write each row of table to out as one JSON object per line; return the count."""
    query = sa.select(table).order_by(*table.primary_key.columns)
    count = 0
    for row in conn.execution_options(yield_per=BATCH).execute(query):
        record = {key: _to_json(value) for key, value in row._mapping.items()}
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count


def non_empty(conn: Connection) -> dict[str, int]:
    """Return the tables that hold rows, with their counts."""
    found = {}
    for table in tables(conn):
        count = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()
        if count:
            found[table.name] = count
    return found


def load(conn: Connection, table: sa.Table, lines: Iterable[str]) -> int:
    """Insert rows written by dump() into table; return how many."""
    decoders = {c.name: _decoder(c.type) for c in table.columns}
    batch, count = [], 0
    for line in lines:
        if not line.strip():
            continue
        record = json.loads(line)
        unknown = set(record) - set(decoders)
        if unknown:
            raise DumpError(
                f"the backup has columns {sorted(unknown)} in {table.name} that "
                "this database does not have"
            )
        batch.append({k: decoders[k](v) for k, v in record.items()})
        if len(batch) == BATCH:
            conn.execute(table.insert(), batch)
            count, batch = count + len(batch), []
    if batch:
        conn.execute(table.insert(), batch)
        count += len(batch)
    return count


def reset_sequences(conn: Connection, table: sa.Table) -> None:
    """Let PostgreSQL hand out ids after the restored ones, not from 1 again."""
    if conn.dialect.name != "postgresql":
        return  # SQLite takes the next id from the largest one in the table
    quoted = conn.dialect.identifier_preparer.format_table(table)
    for column in table.primary_key.columns:
        sequence = conn.execute(
            sa.text("SELECT pg_get_serial_sequence(:table, :column)"),
            {"table": quoted, "column": column.name},
        ).scalar()
        if sequence is None:
            continue
        conn.execute(
            sa.select(
                sa.func.setval(
                    sequence,
                    sa.func.coalesce(sa.func.max(column), 0) + 1,
                    False,
                )
            ).select_from(table)
        )


def _to_json(value):
    if isinstance(value, datetime):
        # SQLite gives back what it was given, without a time zone: vcsweb
        # writes UTC, so naive means UTC.
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Decimal):
        return str(value)
    return value


def _decoder(kind: sa.types.TypeEngine):
    if isinstance(kind, sa.DateTime):
        keep_zone = bool(getattr(kind, "timezone", False))
        return lambda v: None if v is None else _datetime(v, keep_zone)
    if isinstance(kind, sa.Date):
        return lambda v: None if v is None else date.fromisoformat(v)
    if isinstance(kind, sa.LargeBinary):
        return lambda v: None if v is None else base64.b64decode(v)
    if isinstance(kind, sa.Numeric) and not isinstance(kind, sa.Float):
        return lambda v: None if v is None else Decimal(v)
    return lambda v: v


def _datetime(text: str, keep_zone: bool) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    return value if keep_zone else value.replace(tzinfo=None)
