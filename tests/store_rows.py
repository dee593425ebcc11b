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
