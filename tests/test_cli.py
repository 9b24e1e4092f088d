"""The `switchboard` command: serve over a real socket, migrate, create-user, the secret rules."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from switchboard.app import create_app
from switchboard.config import Settings
from switchboard.services.secret import MissingSecret, resolve_jwt_secret
from tests.conftest import make_settings
from tests.server_process import SWITCHBOARD, ServerProcess

SETTINGS_VARIABLES = (
    "JWT_SECRET",
    "JWT_SECRET_FILE",
    "SWITCHBOARD_ENV",
    "DATABASE_URL",
    "REDIS_URL",
    "SWITCHBOARD_PASSWORD",
)


def clean_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    return {**env, **values}


def run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SWITCHBOARD), *args],
        env=clean_env(**env),
        cwd=tmp_path,  # no .env of the repository, no secret file left behind
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"


def test_serve_answers_a_call_over_a_real_socket(tmp_path: Path) -> None:
    with ServerProcess(tmp_path) as server, httpx.Client(base_url=server.url, timeout=10) as http:
        assert http.get("/healthz").json() == {"status": "ok"}
        assert http.get("/readyz").status_code == 200
        tokens = {}
        for name in ("alice", "bob"):
            response = http.post("/auth/register", json={"username": name, "password": "pw-123456"})
            assert response.status_code == 201, response.text
            tokens[name] = response.json()
        alice = {"Authorization": f"Bearer {tokens['alice']['accessToken']}"}
        bob = {"Authorization": f"Bearer {tokens['bob']['accessToken']}"}
        call = http.post(
            "/calls/initiate",
            json={"receiverId": tokens["bob"]["user"]["id"], "callType": "video"},
            headers=alice,
        ).json()["call"]
        answered = http.patch(f"/calls/{call['id']}/answer", json={"accept": True}, headers=bob)
        assert answered.json()["call"]["status"] == "answered"
        ended = http.patch(f"/calls/{call['id']}/end", headers=alice).json()["call"]
        assert (ended["status"], ended["endReason"], ended["version"]) == ("ended", "hangup", 3)
        history = http.get("/calls/history", headers=bob).json()
        assert [c["id"] for c in history["calls"]] == [call["id"]]
        missing = http.get("/nope")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        process = server.process
        assert process is not None
    assert process.returncode is not None  # stopped


def test_migrate_builds_the_schema(tmp_path: Path) -> None:
    result = run(tmp_path, "migrate", DATABASE_URL=sqlite_url(tmp_path), JWT_SECRET="x" * 40)
    assert result.returncode == 0, result.stderr
    assert "migrations applied" in result.stdout
    with sqlite3.connect(tmp_path / "db.sqlite") as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"users", "calls", "call_entries", "conversations", "alembic_version"} <= tables
        (version,) = db.execute("SELECT version_num FROM alembic_version").fetchone()
    again = run(tmp_path, "migrate", DATABASE_URL=sqlite_url(tmp_path), JWT_SECRET="x" * 40)
    assert again.returncode == 0
    with sqlite3.connect(tmp_path / "db.sqlite") as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchone() == (version,)


async def test_create_user_then_login(tmp_path: Path) -> None:
    env = {"DATABASE_URL": sqlite_url(tmp_path), "JWT_SECRET": "x" * 40}
    created = run(tmp_path, "create-user", "Dave", SWITCHBOARD_PASSWORD="dave-password", **env)
    assert created.returncode == 0, created.stderr
    user_id = created.stdout.strip().splitlines()[-1]

    again = run(tmp_path, "create-user", "dave", SWITCHBOARD_PASSWORD="other-password", **env)
    assert again.returncode != 0 and "taken" in again.stderr.lower()
    # The account rules of the API hold here too (a 2-character name could never log in).
    refused = run(tmp_path, "create-user", "x", SWITCHBOARD_PASSWORD="long-enough-password", **env)
    assert refused.returncode != 0, refused.stdout
    assert "Traceback" not in refused.stderr and "Username" in refused.stderr

    app = create_app(make_settings(sqlite_url(tmp_path), tmp_path))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            login = await http.post(
                "/auth/login", json={"username": "DAVE", "password": "dave-password"}
            )
            assert login.status_code == 200, login.text
            assert login.json()["user"] == {**login.json()["user"], "id": user_id}
            assert login.json()["user"]["username"] == "dave"
            wrong = await http.post(
                "/auth/login", json={"username": "dave", "password": "other-password"}
            )
            assert wrong.status_code == 401
            missing = await http.post(
                "/auth/login", json={"username": "x", "password": "long-enough-password"}
            )
            assert missing.status_code == 401


def _resolve(
    settings: Settings, barrier: threading.Barrier, secrets: list[str], errors: list[Exception]
) -> None:
    barrier.wait()
    try:
        secrets.append(resolve_jwt_secret(settings))
    except Exception as error:
        errors.append(error)


def test_development_secret_is_created_once_and_shared_by_threads(tmp_path: Path) -> None:
    for round_ in range(10):
        path = tmp_path / f"round-{round_}" / "secret"
        settings = make_settings(
            sqlite_url(tmp_path), tmp_path, jwt_secret=None, jwt_secret_file=path
        )
        barrier = threading.Barrier(8)
        secrets: list[str] = []
        errors: list[Exception] = []
        threads = [
            threading.Thread(target=_resolve, args=(settings, barrier, secrets, errors))
            for _ in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert len(secrets) == 8 and len(set(secrets)) == 1
        assert path.read_text().strip() == secrets[0] and len(secrets[0]) >= 32
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert sorted(p.name for p in path.parent.iterdir()) == ["secret"]  # no temp files left
        assert resolve_jwt_secret(settings) == secrets[0]  # kept


def start_together(servers: list[ServerProcess], *, within: float = 120) -> None:
    """Starts the processes at once and waits until each answers /healthz."""
    processes = []
    for server in servers:
        with server.log_path.open("ab") as log:
            server.process = subprocess.Popen(
                [str(SWITCHBOARD), "serve", "--host", "127.0.0.1", "--port", str(server.port)],
                env=server.env,
                cwd=server.log_path.parent,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        processes.append(server.process)
    deadline = time.monotonic() + within
    waiting = list(servers)
    while waiting and time.monotonic() < deadline:
        for server in list(waiting):
            assert server.process is not None and server.process.poll() is None, server.log()
            try:
                if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                    waiting.remove(server)
            except httpx.HTTPError:
                pass
        time.sleep(0.2)
    assert not waiting, [server.log() for server in waiting]


def test_two_servers_without_jwt_secret_agree_on_it(tmp_path: Path) -> None:
    secret_file = tmp_path / "shared" / "secret"
    servers = [ServerProcess(tmp_path / name) for name in ("a", "b")]
    for server, name in zip(servers, ("a", "b"), strict=True):
        (tmp_path / name).mkdir()
        server.env = clean_env(
            **{k: v for k, v in server.env.items() if k not in SETTINGS_VARIABLES},
            DATABASE_URL=sqlite_url(tmp_path),
            JWT_SECRET_FILE=str(secret_file),
        )
    try:
        start_together(servers)
        registered = httpx.post(
            f"{servers[0].url}/auth/register",
            json={"username": "alice", "password": "password123"},
        )
        token = registered.json()["accessToken"]
        me = httpx.get(f"{servers[1].url}/users/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200, me.text
        assert secret_file.exists()
        logs = "".join(server.log() for server in servers)
        assert "JWT_SECRET is not set" in logs
    finally:
        for server in servers:
            server.stop()


def test_production_without_jwt_secret_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(MissingSecret):
        resolve_jwt_secret(
            make_settings(
                sqlite_url(tmp_path), tmp_path, jwt_secret=None, switchboard_env="production"
            )
        )
    result = run(
        tmp_path,
        "serve",
        "--port",
        "1",  # never reached: it must stop before binding
        DATABASE_URL=sqlite_url(tmp_path),
        SWITCHBOARD_ENV="production",
    )
    assert result.returncode != 0
    assert "JWT_SECRET" in result.stdout + result.stderr
    assert not (tmp_path / ".switchboard-secret").exists()


def test_several_workers_need_redis(tmp_path: Path) -> None:
    result = run(
        tmp_path, "serve", "--workers", "2", DATABASE_URL=sqlite_url(tmp_path), JWT_SECRET="x" * 40
    )
    assert result.returncode != 0
    assert "REDIS_URL" in result.stderr
