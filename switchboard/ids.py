"""Opaque, time-ordered ids (UUIDv7)."""

from __future__ import annotations

import uuid_utils


def new_id() -> str:
    return str(uuid_utils.uuid7())
