"""Faults: Redis restarting under two instances, PostgreSQL going away, a refused set-up."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.cluster.conftest import (
    Connect,
    NewUser,
    fresh_postgres_database,
    running_cluster,
)
from tests.redis_server import RedisServer
from tests.server_process import SWITCHBOARD, ServerProcess, free_port
from tests.services_available import require_postgres

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


async def test_redis_restart_resyncs_and_delivery_resumes(
    tmp_path: Path, redis_server: RedisServer, user: NewUser, connect: Connect
) -> None:
    with (
        fresh_postgres_database() as database_url,
        running_cluster(
            tmp_path,
            database_url=database_url,
            redis_url=redis_server.url,
            count=2,
            # Long enough a ring to outlive the outage; grace and liveness stay short.
            RING_TIMEOUT_SECONDS="60",
        ) as cluster,
    ):
        one, two = cluster.instances
        alice, bob = await user(one), await user(two)
        carol, dave = await user(one), await user(two)
        a = await connect(alice, one, "alice-desk")
        b = await connect(bob, two, "bob-phone")
        c = await connect(carol, one, "carol-desk")
        d = await connect(dave, two, "dave-phone")
        ringing = await alice.initiate(bob, connectionId="alice-desk")
        await b.next("call.incoming")
        talking = await carol.initiate(dave, connectionId="carol-desk")
        await d.next("call.incoming")
        await dave.patch(talking["id"], "answer", {"accept": True, "connectionId": "dave-phone"})
        await c.until("call.answered")
        for device in (a, b, c, d):
            await device.call_events(0.2)

        redis_server.kill()
        # Down for longer than liveness TTL + grace: liveness cannot be read, so no sweep
        # may end the answered call (each side is on an instance the other cannot see).
        await asyncio.sleep(3)
        assert (await carol.get_call(talking["id"]))["status"] == "answered"
        assert (await alice.get_call(ringing["id"]))["status"] == "initiated"
        redis_server.start()

        # Each connection learns the truth: a sync frame with its active call.
        for device, call_id in ((a, ringing["id"]), (b, ringing["id"])):
            sync = await device.until("sync", timeout=10)
            assert sync["data"]["activeCall"]["id"] == call_id
            assert sync["data"]["activeCall"]["status"] == "initiated"
        for device in (c, d):
            sync = await device.until("sync", timeout=10)
            assert sync["data"]["activeCall"]["id"] == talking["id"]
            assert sync["data"]["activeCall"]["status"] == "answered"

        # Events and signals flow again, across the instances.
        assert (await a.signal(ringing["id"], "renegotiate", {}))["type"] == "ack"
        assert (await b.next("signal"))["data"]["fromConnectionId"] == "alice-desk"
        await bob.patch(ringing["id"], "answer", {"accept": True, "connectionId": "bob-phone"})
        assert (await a.next("call.answered"))["data"]["connectionId"] == "bob-phone"
        assert (await d.signal(talking["id"], "renegotiate", {}))["type"] == "ack"
        assert (await c.next("signal"))["data"]["from"] == dave.id

        # Liveness is back in Redis: after TTL + grace both answered calls still stand.
        await asyncio.sleep(3)
        assert (await carol.get_call(talking["id"]))["status"] == "answered"
        assert (await alice.get_call(ringing["id"]))["status"] == "answered"
        # A client reconnecting learns the truth from hello.
        again = await connect(bob, one, "bob-phone")
        assert again.hello["data"]["activeCall"]["id"] == ringing["id"]
        await carol.patch(talking["id"], "end")
        for device in (c, d):
            assert (await device.next("call.ended"))["data"]["call"]["endReason"] == "hangup"


class TcpProxy:
    """Forwards a loopback port to PostgreSQL; `stop()` refuses new connections and cuts
    the open ones, as a database going away does."""

    def __init__(self, target_port: int = 5432) -> None:
        self.port = free_port()
        self.target_port = target_port
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            for writer in list(self.writers):
                writer.transport.abort()
            await self.server.wait_closed()
            self.server = None

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                "127.0.0.1", self.target_port
            )
        except OSError:
            writer.transport.abort()
            return
        self.writers |= {writer, upstream_writer}
        try:
            await asyncio.gather(
                self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
            )
        finally:
            self.writers -= {writer, upstream_writer}

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.transport.abort()


@pytest.fixture
async def postgres_proxy() -> AsyncIterator[TcpProxy]:
    require_postgres()
    proxy = TcpProxy()
    await proxy.start()
    yield proxy
    await proxy.stop()


async def test_postgres_outage_answers_503_and_recovers(
    tmp_path: Path, postgres_proxy: TcpProxy, user: NewUser
) -> None:
    with fresh_postgres_database() as database_url:
        proxied = database_url.replace(":5432/", f":{postgres_proxy.port}/")
        server = ServerProcess(tmp_path, DATABASE_URL=proxied, LOG_LEVEL="warning")
        # `serve` migrates before it listens: start it in a thread while the proxy runs here.
        await asyncio.to_thread(server.start)
        try:
            alice, bob = await user(server), await user(server)
            assert (await alice.http.get("/calls/history")).status_code == 200

            await postgres_proxy.stop()
            for method, path, body in (
                # (not /users/me: profiles are cached, it may answer without the database)
                ("GET", "/calls/history", None),
                ("GET", "/calls/active", None),
                ("GET", "/conversations", None),
                ("POST", "/calls/initiate", {"receiverId": bob.id, "callType": "audio"}),
            ):
                started = time.monotonic()
                response = await alice.http.request(method, path, json=body)
                assert time.monotonic() - started < 8, path
                assert response.status_code == 503, (path, response.text)
                assert response.headers["content-type"].startswith("application/problem+json")
                assert response.json()["code"] == "service_unavailable"
            assert (await alice.http.get("/readyz")).status_code == 503
            assert (await alice.http.get("/healthz")).status_code == 200

            await postgres_proxy.start()
            deadline = time.monotonic() + 10
            while (await alice.http.get("/calls/active")).status_code != 200:
                assert time.monotonic() < deadline, "no recovery after the database came back"
                await asyncio.sleep(0.2)
            call = await alice.initiate(bob, "audio")
            assert call["status"] == "initiated"
            assert (await alice.http.get("/readyz")).status_code == 200
        finally:
            await asyncio.to_thread(server.stop)
    assert "unexpected error" not in server.log()


def test_several_workers_without_redis_are_refused(tmp_path: Path) -> None:
    env = {key: value for key, value in ServerProcess(tmp_path).env.items() if key != "REDIS_URL"}
    result = subprocess.run(
        [str(SWITCHBOARD), "serve", "--port", str(free_port()), "--workers", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "REDIS_URL" in result.stderr
