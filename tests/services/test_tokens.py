"""Access tokens live exactly as long as the clock that issued them says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from switchboard.clock import ManualClock
from switchboard.services.auth import TokenCodec
from switchboard.services.errors import ServiceError

SECRET = "a-secret-long-enough-for-hs256-tokens-0123456789"


def test_a_token_expires_by_the_injected_clock_even_once_verified() -> None:
    clock = ManualClock(datetime(2030, 1, 1, tzinfo=UTC))  # far from real time
    codec = TokenCodec(secret=SECRET, ttl_seconds=60, clock=clock)
    token = codec.issue("user-1")
    assert codec.user_id(token) == "user-1"
    clock.advance(59)
    assert codec.user_id(token) == "user-1"  # remembered
    clock.advance(1)
    with pytest.raises(ServiceError) as error:
        codec.user_id(token)
    assert error.value.code == "unauthorized"


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "user-1"},
        {"exp": 4_000_000_000},
        {"sub": "", "exp": 4_000_000_000},
        {"sub": "user-1", "exp": "never"},
    ],
)
def test_tokens_without_a_subject_or_expiry_are_refused(claims: dict[str, object]) -> None:
    codec = TokenCodec(secret=SECRET, ttl_seconds=60, clock=ManualClock())
    with pytest.raises(ServiceError):
        codec.user_id(jwt.encode(claims, SECRET, algorithm="HS256"))


def test_an_expired_token_is_refused_before_it_is_remembered() -> None:
    clock = ManualClock()
    codec = TokenCodec(secret=SECRET, ttl_seconds=60, clock=clock)
    past = clock.now() - timedelta(seconds=1)
    token = jwt.encode({"sub": "user-1", "exp": past}, SECRET, algorithm="HS256")
    with pytest.raises(ServiceError):
        codec.user_id(token)
