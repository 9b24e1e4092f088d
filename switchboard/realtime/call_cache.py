"""This instance's picture of the calls in progress, kept fresh by the events it hears."""

from __future__ import annotations

from typing import Any

from switchboard.realtime.signaling import CallState


class CallCache:
    def __init__(self) -> None:
        self._calls: dict[str, CallState] = {}

    def observe(self, raw: dict[str, Any]) -> None:
        state = CallState(**raw)
        known = self._calls.get(state.id)
        if known is not None and known.version >= state.version:
            return
        if state.is_active:
            self._calls[state.id] = state
        else:
            self._calls.pop(state.id, None)

    def get(self, call_id: str) -> CallState | None:
        return self._calls.get(call_id)

    def put(self, state: CallState) -> None:
        if state.is_active:
            self._calls[state.id] = state

    def clear(self) -> None:
        self._calls.clear()
