"""The live connections this instance holds, by user and connection id."""

from __future__ import annotations

import logging
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

OUTBOX_LIMIT = 1024
SLOW_READER_CLOSE_CODE = 1013  # try again later: the client does not keep up


@dataclass(eq=False)
class Connection:
    """A live socket's state. Frames wait in `outbox` (a plain deque: an idle connection
    holds no queue, task or future); `wake` starts the writer when the first one arrives."""

    user_id: str
    connection_id: str
    outbox: deque[str | None] = field(default_factory=deque)  # None: close after the rest
    close_code: int | None = None
    # Tells this connection from a later one of the same device (on any instance).
    nonce: str = field(default_factory=lambda: secrets.token_hex(8))
    # Frames that arrive before `hello` wait here, so that `hello` is always the first.
    _held: list[str] | None = field(default_factory=list)
    wake: Callable[[], None] | None = None

    def send_first(self, text: str) -> None:
        held, self._held = self._held or [], None
        for queued in (text, *held):
            self.send(queued)

    def send(self, text: str) -> None:
        """Queues a frame; a reader too slow to drain its queue is disconnected."""
        if self.close_code is not None:
            return
        if self._held is not None:
            self._held.append(text)
            return
        if len(self.outbox) >= OUTBOX_LIMIT:
            log.warning("closing connection %s: outbox full", self.connection_id)
            self.close(SLOW_READER_CLOSE_CODE)
            return
        self.outbox.append(text)
        if len(self.outbox) == 1 and self.wake is not None:
            self.wake()

    def close(self, code: int) -> None:
        if self.close_code is None:
            self.close_code = code
            self._held = None
            self.outbox.clear()
            self.outbox.append(None)
            if self.wake is not None:
                self.wake()


class Registry:
    def __init__(self) -> None:
        self._by_user: dict[str, dict[str, Connection]] = {}

    def add(self, connection: Connection) -> Connection | None:
        """Registers the connection; returns the one with the same id that it replaces."""
        mine = self._by_user.setdefault(connection.user_id, {})
        replaced = mine.get(connection.connection_id)
        mine[connection.connection_id] = connection
        return replaced

    def remove(self, connection: Connection) -> bool:
        """Forgets the connection; False when it had already been replaced."""
        mine = self._by_user.get(connection.user_id)
        if mine is None or mine.get(connection.connection_id) is not connection:
            return False
        del mine[connection.connection_id]
        if not mine:
            del self._by_user[connection.user_id]
        return True

    def of_user(self, user_id: str) -> list[Connection]:
        return list(self._by_user.get(user_id, {}).values())

    def get(self, user_id: str, connection_id: str) -> Connection | None:
        return self._by_user.get(user_id, {}).get(connection_id)

    def all(self) -> list[Connection]:
        return [c for mine in self._by_user.values() for c in mine.values()]

    def has_user(self, user_id: str) -> bool:
        return user_id in self._by_user

    def __len__(self) -> int:
        return sum(len(mine) for mine in self._by_user.values())
