"""INSERT ... ON CONFLICT DO NOTHING for the database at hand."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.store.models import Base


async def insert_ignoring_conflicts(
    session: AsyncSession, model: type[Base], rows: Sequence[dict[str, Any]], *, returning: str
) -> set[Any]:
    """Inserts the rows that do not clash with a unique key; returns `returning` of those."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(model).values(list(rows)).on_conflict_do_nothing()
    result = await session.execute(statement.returning(getattr(model, returning)))
    return set(result.scalars().all())
