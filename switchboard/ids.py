"""Opaque, time-ordered ids (UUIDv7)."""

from __future__ import annotations

import re

import uuid_utils

_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def new_id() -> str:
    return str(uuid_utils.uuid7())


def is_id(value: str) -> bool:
    """Whether `value` has the shape of an id we hand out (lower-case hyphenated UUID).

    Anything else cannot name a row, so lookups answer "not found" without asking the
    database (which may also refuse such text, e.g. PostgreSQL and a NUL character).
    """
    return _ID.fullmatch(value) is not None
