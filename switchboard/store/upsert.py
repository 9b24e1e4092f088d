"""INSERT ... ON CONFLICT DO NOTHING for the database at hand."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.store.models import Base


async def insert_ignoring_conflicts(
    session: AsyncSession, model: type[Base], rows: Sequence[dict[str, Any]], *, returning: str
) -> set[Any]:
    """Inserts the rows that do not clash with a unique key; returns `returning` of those.

    The statement is the same whatever the rows (they go as parameters, several at once
    through SQLAlchemy's "insertmanyvalues"), so it is compiled once and then cached; a
    statement with the rows inlined as VALUES was compiled anew on every call.
    """
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table: Table = model.__table__  # type: ignore[assignment]
    statement = insert(table).on_conflict_do_nothing().returning(table.c[returning])
    parameters: list[dict[str, Any]] | dict[str, Any] = rows[0] if len(rows) == 1 else list(rows)
    result = await session.execute(statement, parameters)
    return set(result.scalars().all())
