"""Registration, login and access tokens (argon2 hashes, HS256 JWTs)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from switchboard.clock import Clock
from switchboard.ids import new_id
from switchboard.services.errors import ErrorKind, ServiceError, invalid, unauthorized
from switchboard.services.users import UserService
from switchboard.services.views import UserView
from switchboard.store import users as user_store
from switchboard.store.db import Database

JWT_ALGORITHM = "HS256"
VERIFIED_TOKENS_KEPT = 100_000

# The account rules of the contract, shared by the API's schemas and `create-user`.
USERNAME_PATTERN = r"^[A-Za-z0-9_.-]{3,32}$"  # folded to lower case when stored
PASSWORD_MIN, PASSWORD_MAX = 8, 128
DISPLAY_NAME_PATTERN = r"^[^\x00-\x1f\x7f]{1,64}$"  # 1-64 characters, no control characters


@dataclass(frozen=True, slots=True)
class Session:
    access_token: str
    expires_in: int
    user: UserView


class TokenCodec:
    def __init__(self, *, secret: str, ttl_seconds: int, clock: Clock) -> None:
        self._secret = secret
        self._ttl = ttl_seconds
        self._clock = clock
        # Tokens already verified: token -> (user id, expiry). A client sends the same token
        # with every request; its signature need not be checked again until it expires.
        self._verified: dict[str, tuple[str, float]] = {}

    @property
    def ttl_seconds(self) -> int:
        return self._ttl

    def issue(self, user_id: str) -> str:
        now = self._clock.now()
        claims = {"sub": user_id, "iat": now, "exp": now + timedelta(seconds=self._ttl)}
        return jwt.encode(claims, self._secret, algorithm=JWT_ALGORITHM)

    def user_id(self, token: str) -> str:
        """The user a token speaks for; raises `unauthorized` for anything not ours or expired."""
        known = self._verified.get(token)
        if known is not None:
            if self._clock.now().timestamp() < known[1]:
                return known[0]
            del self._verified[token]
        return self._verify(token)

    def _verify(self, token: str) -> str:
        try:
            # Times are checked below against our clock, the one that issued the token.
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[JWT_ALGORITHM],
                options={"require": ["exp", "sub"], "verify_exp": False, "verify_iat": False},
            )
        except jwt.PyJWTError as error:
            raise unauthorized() from error
        subject, expiry = claims.get("sub"), claims.get("exp")
        if not isinstance(subject, str) or not subject or not isinstance(expiry, int | float):
            raise unauthorized()
        if self._clock.now().timestamp() >= expiry:
            raise unauthorized()
        if len(self._verified) >= VERIFIED_TOKENS_KEPT:
            del self._verified[next(iter(self._verified))]  # the oldest
        self._verified[token] = (subject, float(expiry))
        return subject


class AuthService:
    def __init__(
        self, *, db: Database, tokens: TokenCodec, users: UserService, clock: Clock
    ) -> None:
        self._db = db
        self._tokens = tokens
        self._users = users
        self._clock = clock
        self._hasher = PasswordHasher()
        # Verified against for unknown usernames, so both failures take as long.
        self._dummy_hash = self._hasher.hash("not-a-real-password")

    async def register(self, *, username: str, password: str, display_name: str | None) -> Session:
        user_id = await self.create_user(
            username=username, password=password, display_name=display_name
        )
        return await self._session_for(user_id)

    async def create_user(self, *, username: str, password: str, display_name: str | None) -> str:
        if not re.fullmatch(USERNAME_PATTERN, username):
            raise invalid(
                "validation_error",
                "Usernames are 3-32 characters of a-z 0-9 _ . -",
                field="username",
            )
        if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
            raise invalid(
                "validation_error",
                f"Passwords are {PASSWORD_MIN}-{PASSWORD_MAX} characters",
                field="password",
            )
        if display_name is not None and not re.fullmatch(DISPLAY_NAME_PATTERN, display_name):
            raise invalid(
                "validation_error",
                "Display names are 1-64 characters without control characters",
                field="displayName",
            )
        folded = username.lower()
        password_hash = await asyncio.to_thread(self._hasher.hash, password)
        user_id = new_id()
        async with self._db.write() as session:
            created = await user_store.insert_user(
                session,
                user_id=user_id,
                username=folded,
                display_name=display_name or folded,
                password_hash=password_hash,
                now=self._clock.now(),
            )
        if not created:
            raise ServiceError(ErrorKind.CONFLICT, "username_taken", "Username is taken")
        return user_id

    async def login(self, *, username: str, password: str) -> Session:
        user = None
        if re.fullmatch(USERNAME_PATTERN, username):  # no other name can exist
            async with self._db.read() as session:
                user = await user_store.get_user_by_username(session, username.lower())
        stored_hash = user.password_hash if user else self._dummy_hash
        verified = await asyncio.to_thread(self._verify, stored_hash, password)
        if user is None or not verified:
            raise ServiceError(
                ErrorKind.UNAUTHORIZED, "invalid_credentials", "Invalid username or password"
            )
        return await self._session_for(user.id)

    def _verify(self, stored_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    async def _session_for(self, user_id: str) -> Session:
        user = await self._users.get(user_id=user_id)
        return Session(
            access_token=self._tokens.issue(user_id),
            expires_in=self._tokens.ttl_seconds,
            user=user,
        )

    async def authenticate(self, token: str) -> str:
        """The id of the user behind a bearer token (who must still exist).

        Only the id: whether the user is online is not asked of presence (a Redis round trip
        on every request, for a flag that only `/users/me` shows).
        """
        user_id = self._tokens.user_id(token)
        if not await self._users.exists(user_id):
            raise unauthorized()
        return user_id
