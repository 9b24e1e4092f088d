"""The `switchboard` command: serve, migrate, create-user (and the client's call/answer)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging.config
import os
import resource
import sys

import uvicorn

from switchboard.config import Settings
from switchboard.logs import log_config
from switchboard.realtime.wsprotocol import LeanWebSocketProtocol
from switchboard.store.migrate import migrate

MAX_WS_FRAME_BYTES = 1024 * 1024  # frames above this are closed with 1009


def raise_open_file_limit() -> None:
    """Many idle WebSocket connections need many descriptors: use all the hard limit allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _serve(args: argparse.Namespace) -> int:
    settings = Settings()
    if args.workers > 1 and not settings.redis_url:
        print(
            "error: --workers above 1 needs REDIS_URL (events would not cross workers)",
            file=sys.stderr,
        )
        return 2
    config = log_config(settings.log_format, settings.log_level)
    logging.config.dictConfig(config)
    asyncio.run(migrate(settings.database_url))
    raise_open_file_limit()
    uvicorn.run(
        "switchboard.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop="uvloop",
        http="httptools",
        ws=LeanWebSocketProtocol,
        ws_max_size=MAX_WS_FRAME_BYTES,
        ws_per_message_deflate=False,
        ws_ping_interval=settings.ws_heartbeat_seconds,
        ws_ping_timeout=settings.ws_heartbeat_seconds,
        proxy_headers=True,
        log_config=config,
    )
    return 0


def _migrate(_: argparse.Namespace) -> int:
    asyncio.run(migrate(Settings().database_url))
    print("migrations applied")
    return 0


def _create_user(args: argparse.Namespace) -> int:
    from switchboard.clock import SystemClock
    from switchboard.realtime.connections import Registry
    from switchboard.realtime.presence import LocalPresence
    from switchboard.services.auth import AuthService, TokenCodec
    from switchboard.services.errors import ServiceError
    from switchboard.services.secret import resolve_jwt_secret
    from switchboard.services.users import UserService
    from switchboard.store.db import Database

    password = os.environ.get("SWITCHBOARD_PASSWORD") or getpass.getpass("Password: ")
    settings = Settings()

    async def create() -> str:
        await migrate(settings.database_url)
        db = Database(settings.database_url)
        clock = SystemClock()
        users = UserService(db=db, presence=LocalPresence(Registry()))
        tokens = TokenCodec(secret=resolve_jwt_secret(settings), ttl_seconds=60, clock=clock)
        try:
            return await AuthService(db=db, tokens=tokens, users=users, clock=clock).create_user(
                username=args.username, password=password, display_name=args.display_name
            )
        finally:
            await db.dispose()

    try:
        user_id = asyncio.run(create())
    except ServiceError as error:
        print(f"error: {error.detail}", file=sys.stderr)
        return 1
    print(user_id)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="switchboard", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="apply migrations, then serve the API and web client")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(run=_serve)

    commands.add_parser("migrate", help="apply database migrations and exit").set_defaults(
        run=_migrate
    )

    create_user = commands.add_parser(
        "create-user", help="create a user (password from SWITCHBOARD_PASSWORD or a prompt)"
    )
    create_user.add_argument("username")
    create_user.add_argument("--display-name", default=None)
    create_user.set_defaults(run=_create_user)

    try:
        from switchboard.client.cli import add_client_commands
    except ImportError:
        pass
    else:
        add_client_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
