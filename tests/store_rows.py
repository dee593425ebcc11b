"""Rows straight from a store's database (SQLite file or PostgreSQL), bypassing the store's own
read methods: what really reached the database."""

from __future__ import annotations

import re

import sqlalchemy as sa


def raw_rows(url: str, sql: str, *params: object) -> list[tuple]:
    """Run ``sql`` (``?`` for each of ``params``) on a connection of its own and return its
    rows; a statement that returns none is committed."""
    numbered = iter(range(len(params)))
    text = sa.text(re.sub(r"\?", lambda _: f":p{next(numbered)}", sql))
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as connection:
            result = connection.execute(text, {f"p{i}": value for i, value in enumerate(params)})
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()


def is_postgres(url: str) -> bool:
    return url.startswith("postgres")


def schema_of(url: str) -> dict[str, dict]:
    """What a store's database holds, read back from the database (not from ``tables.py``): for
    each table its columns (name, type, nullability, default, autoincrement, collation where the
    database says it, in order), primary key, foreign keys, indexes (columns, uniqueness, a partial
    index's condition), unique and check constraints; on PostgreSQL its sequences, on SQLite the
    tables declared AUTOINCREMENT. Two stores with equal schemas behave alike.

    Two spellings are made one: on SQLite a ``VARCHAR(n)`` column (made by the migrations before
    v11) is ``TEXT``, as SQLite reads it (the same affinity, and no length is ever checked); on
    PostgreSQL a default cast to ``character varying`` (a column added as VARCHAR, turned TEXT by
    migration 11, keeps its default's cast) is the same string cast to ``text``."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        inspector = sa.inspect(engine)
        sqlite = engine.dialect.name == "sqlite"

        def type_of(column: dict) -> str:
            spelled = str(column["type"]) + (" WITH TIME ZONE" if getattr(column["type"], "timezone", False) else "")
            return re.sub(r"^VARCHAR\(\d+\)$", "TEXT", spelled) if sqlite else spelled

        def default_of(column: dict) -> str | None:
            default = column.get("default")
            return None if default is None else default.replace("::character varying", "::text")

        # One query per kind of thing for all tables (get_multi_*), not one per table: the
        # catalogue queries cost PostgreSQL more than the store itself.
        columns, keys, foreign = (inspector.get_multi_columns(), inspector.get_multi_pk_constraint(),
                                  inspector.get_multi_foreign_keys())
        indexes, uniques, checks = (inspector.get_multi_indexes(), inspector.get_multi_unique_constraints(),
                                    inspector.get_multi_check_constraints())
        schema: dict[str, dict] = {}
        for (_schema, table) in sorted(columns):
            name = (_schema, table)
            schema[table] = {
                "columns": [(c["name"], type_of(c), c["nullable"], default_of(c), c.get("autoincrement"),
                             c.get("collation")) for c in columns[name]],
                "primary key": keys[name],
                "foreign keys": sorted((fk["name"] or "", fk["constrained_columns"], fk["referred_table"],
                                        fk["referred_columns"], sorted(fk.get("options", {}).items()))
                                       for fk in foreign[name]),
                # a partial index's condition comes back among its dialect options (sqlite_where, postgresql_where)
                "indexes": sorted((i["name"], i["column_names"], i["unique"],
                                   sorted((k, str(v)) for k, v in i.get("dialect_options", {}).items()))
                                  for i in indexes[name]),
                "unique": sorted((u["name"] or "", u["column_names"]) for u in uniques[name]),
                "checks": sorted((c["name"] or "", c["sqltext"]) for c in checks[name]),
            }
        if not sqlite:
            schema["(sequences)"] = {"names": sorted(inspector.get_sequence_names())}
        else:  # AUTOINCREMENT (ids never reused) is said in the table's SQL alone
            with engine.connect() as connection:
                schema["(autoincrement)"] = {"tables": sorted(
                    table for table, sql in connection.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'table'")
                    if "AUTOINCREMENT" in (sql or "").upper())}
        return schema
    finally:
        engine.dispose()
