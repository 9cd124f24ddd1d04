"""How an in-process transactional test empties the database after itself.

Django's flush truncates every table, and PostgreSQL makes each truncated table and index a new file, synced to
disk when the transaction commits; then the post_migrate signal fills the reference tables again (content types,
permissions, the license list and its change records). Together about a second a test on an idle machine, several
on a busy one: most of the time of `make test-fast`.

The first flush of a run is Django's own, and what it leaves (the reference rows post_migrate wrote) is copied
into a schema of its own. Every later flush of an in-process test deletes the rows of the tables that hold any,
foreign keys deferred to the commit, and copies the reference rows back: the database is left as Django's flush
leaves it. Tables whose rows only a truncation removes (the append-only change log and the audits refuse a DELETE
by trigger) are truncated, with every table that refers to them, as a truncation must. Should the copy ever fail
(a schema a test changed), the flush is Django's again and the copy is taken anew.

The e2e tests keep Django's flush: their workers and server read the tables while it runs.
"""

from collections.abc import Callable, Sequence
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import DatabaseError, connections, transaction

SCHEMA = "flush_snapshot"


class Scope:
    """Whether the test running now (or being torn down) runs in-process; set as each test starts."""

    in_process = True


class Snapshot:
    """The tables of a database after Django's flush, the rows post_migrate leaves in some, and the tables a DELETE
    cannot empty."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.tables = tables_of(connection)
        quote = connection.ops.quote_name
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            self.truncated = truncated_together(cursor, self.tables)
            cursor.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
            cursor.execute(f"CREATE SCHEMA {SCHEMA}")
            self.kept: dict[str, str] = {}  # table -> its columns, quoted
            for table in self.filled(cursor):
                cursor.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
                    "AND table_name = %s AND is_generated = 'NEVER' ORDER BY ordinal_position",
                    [table],
                )
                self.kept[table] = ", ".join(quote(row[0]) for row in cursor.fetchall())
                cursor.execute(f"CREATE TABLE {SCHEMA}.{quote(table)} AS SELECT {self.kept[table]} FROM {quote(table)}")  # noqa: S608

    def filled(self, cursor: Any) -> set[str]:
        quote = self.connection.ops.quote_name
        # Table names of the project's own models, quoted by the backend.
        exists = " UNION ALL ".join(f"SELECT %s WHERE EXISTS (SELECT 1 FROM {quote(table)})" for table in self.tables)  # noqa: S608
        cursor.execute(exists, self.tables)
        return {row[0] for row in cursor.fetchall()}

    def restore(self) -> None:
        quote = self.connection.ops.quote_name
        with transaction.atomic(using=self.connection.alias), self.connection.cursor() as cursor:
            filled = self.filled(cursor)
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            if filled & self.truncated:
                cursor.execute(f"TRUNCATE {', '.join(quote(table) for table in sorted(self.truncated))}")
            for table in sorted(filled - self.truncated):
                cursor.execute(f"DELETE FROM {quote(table)}")  # noqa: S608
            for table, columns in self.kept.items():
                cursor.execute(f"INSERT INTO {quote(table)} ({columns}) SELECT {columns} FROM {SCHEMA}.{quote(table)}")  # noqa: S608
        # As post_migrate's content types would: the cached ones may be those of an e2e test's flush.
        ContentType.objects.clear_cache()


def tables_of(connection: Any) -> list[str]:
    return sorted(connection.introspection.django_table_names(only_existing=True, include_views=False))


def truncated_together(cursor: Any, tables: Sequence[str]) -> frozenset[str]:
    """The tables a DELETE cannot empty: those with triggers of their own, both ends of a foreign key that cannot
    wait for the commit, and every table that refers to one of them (a truncation must name them all)."""
    cursor.execute(
        "SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE NOT t.tgisinternal AND c.relname = ANY(%s)",
        [list(tables)],
    )
    chosen = {row[0] for row in cursor.fetchall()}
    cursor.execute(
        "SELECT source.relname, target.relname, constraint_.condeferrable FROM pg_constraint constraint_ "
        "JOIN pg_class source ON source.oid = constraint_.conrelid "
        "JOIN pg_class target ON target.oid = constraint_.confrelid "
        "WHERE constraint_.contype = 'f' AND source.relname = ANY(%s)",
        [list(tables)],
    )
    references = cursor.fetchall()
    chosen |= {name for source, target, deferrable in references if not deferrable for name in (source, target)}
    while referring := {source for source, target, _ in references if target in chosen and source not in chosen}:
        chosen |= referring
    return frozenset(chosen)


_snapshots: dict[str, Snapshot] = {}


def quick_flush(original: Callable[..., None]) -> Callable[..., None]:
    """The flush command's `handle`, quick for in-process tests."""

    def handle(self: Any, **options: Any) -> None:
        database = options["database"]
        connection = connections[database]
        usual = (
            not Scope.in_process
            or connection.vendor != "postgresql"
            or options.get("interactive")
            or options.get("reset_sequences", True)
            or options.get("allow_cascade", False)
            or options.get("inhibit_post_migrate", False)
        )
        if options.get("reset_sequences", True):
            _snapshots.pop(database, None)  # the kept rows' ids would come round again
        snapshot = _snapshots.get(database)
        if snapshot is not None and snapshot.tables != tables_of(connection):
            del _snapshots[database]  # a test changed the schema
            snapshot = None
        if not usual and snapshot is not None:
            try:
                snapshot.restore()
                return
            except DatabaseError:
                del _snapshots[database]
        original(self, **options)
        if not usual:
            _snapshots[database] = Snapshot(connection)

    return handle
