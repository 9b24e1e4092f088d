"""No token and no password in any log line: the app's loggers (caplog, everything at DEBUG)
and a real server's output (uvicorn's access and error logs included)."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import httpx
import pytest
import websockets
from fastapi import FastAPI
from starlette.types import Message

from tests.security.conftest import Apps
from tests.server_process import ServerProcess

PASSWORD = "Correct-Horse-9431"
WRONG_PASSWORD = "Wrong-Battery-5172"


async def ws_session(app: FastAPI, query: str, headers: dict[str, str] | None = None) -> int:
    """One in-process WebSocket session: connects, reads until hello or close; the close code
    (1000 after a hello)."""
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    await inbox.put({"type": "websocket.connect"})
    done = asyncio.get_running_loop().create_future()

    async def send(message: Message) -> None:
        if message["type"] == "websocket.close" and not done.done():
            done.set_result(message.get("code", 1000))
        hello = message["type"] == "websocket.send" and '"hello"' in message.get("text", "")
        if hello and not done.done():
            done.set_result(1000)

    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "ws",
        "path": "/ws",
        "raw_path": b"/ws",
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "client": ("127.0.0.1", 40000),
        "server": ("testserver", 80),
        "subprotocols": [],
        "state": {},
    }
    task = asyncio.create_task(app(scope, inbox.get, send))
    code: int = await asyncio.wait_for(done, 5)
    await inbox.put({"type": "websocket.disconnect", "code": 1000})
    await asyncio.wait_for(task, 5)
    return code


async def test_app_loggers_never_see_secrets(apps: Apps, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    app = await apps.app(login_attempts_per_username=2)
    http = await apps.client(app)
    body = {"username": "logged", "password": PASSWORD}
    wrong = {"username": "logged", "password": WRONG_PASSWORD}
    token = (await http.post("/auth/register", json=body)).json()["accessToken"]
    assert (await http.post("/auth/login", json=wrong)).status_code == 401
    token2 = (await http.post("/auth/login", json=body)).json()["accessToken"]
    assert (await http.post("/auth/login", json=wrong)).status_code == 429
    assert (await http.get("/users/me", headers={"Authorization": f"Bearer {token}"})).is_success
    forged = await http.get("/users/me", headers={"Authorization": f"Bearer {token2}x"})
    assert forged.status_code == 401
    assert await ws_session(app, f"token={token}&deviceId=logged-dev1") == 1000
    assert await ws_session(app, "", {"Authorization": f"Bearer {token2}"}) == 1000
    assert await ws_session(app, f"token={token}x") == 4401
    assert caplog.records, "the app logged nothing: the test would prove nothing"
    lines = [record.getMessage() for record in caplog.records]
    lines += [repr(record.__dict__) for record in caplog.records]
    for secret in (PASSWORD, WRONG_PASSWORD, token, token2, token.split(".")[2]):
        assert not [line for line in lines if secret in line], secret


async def test_server_output_never_has_secrets(tmp_path: Path) -> None:
    env = {"LOG_LEVEL": "debug", "LOGIN_ATTEMPTS_PER_USERNAME": "2"}
    with ServerProcess(tmp_path, **env) as server:
        async with httpx.AsyncClient(base_url=server.url) as http:
            body = {"username": "witness", "password": PASSWORD}
            token = (await http.post("/auth/register", json=body)).json()["accessToken"]
            wrong = {"username": "witness", "password": WRONG_PASSWORD}
            assert (await http.post("/auth/login", json=wrong)).status_code == 401
            token2 = (await http.post("/auth/login", json=body)).json()["accessToken"]
            assert (await http.post("/auth/login", json=wrong)).status_code == 429
            auth = {"Authorization": f"Bearer {token}"}
            assert (await http.get("/users/me", headers=auth)).status_code == 200
            # A token in a query string of a REST route (a client's mistake) is redacted too.
            await http.get("/users/me", params={"token": token2, "access_token": token2})
        async with websockets.connect(f"{server.ws_url}?token={token}&deviceId=witness-01") as ws:
            assert json.loads(await ws.recv())["type"] == "hello"
        async with websockets.connect(
            server.ws_url, additional_headers={"Authorization": f"Bearer {token2}"}
        ) as ws:
            assert json.loads(await ws.recv())["type"] == "hello"
        async with websockets.connect(f"{server.ws_url}?token={token2}tampered") as ws:
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 5)
        await asyncio.sleep(0.3)  # the last access lines
        log = server.log()
    assert "POST /auth/login" in log and "429" in log  # uvicorn's access log was captured
    assert "/ws?token=[redacted]" in log
    for secret in (PASSWORD, WRONG_PASSWORD, token, token2, token.split(".")[2]):
        assert secret not in log, secret
    assert "eyJ" not in log
