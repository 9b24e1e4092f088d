"""Authorization on the gateway: bad tokens close with 4401 (query and header alike), an
outsider's signals of every kind are refused as `call_not_found` in every state of the call
and reach no one, and an outsider cannot bind a call to someone else's device."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import websockets

from tests.api.test_authorization import bad_tokens
from tests.realtime.conftest import Connect, NewUser
from tests.realtime.peer import Device
from tests.server_process import ServerProcess

KINDS: dict[str, Any] = {
    "offer": {"type": "offer", "sdp": "v=0\r\n"},
    "answer": {"type": "answer", "sdp": "v=0\r\n"},
    "ice-candidate": {"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host", "sdpMid": "0"},
    "renegotiate": {},
    "media-state": {"audio": True, "video": False},
}


async def closed_with(url: str, headers: dict[str, str] | None = None) -> tuple[int, list[str]]:
    """Connects and reads until the server closes; the close code and the frames seen."""
    frames: list[str] = []
    async with websockets.connect(url, additional_headers=headers) as ws:
        try:
            while True:
                frames.append(str(await asyncio.wait_for(ws.recv(), 5)))
        except websockets.ConnectionClosed as closed:
            return (closed.rcvd.code if closed.rcvd else 1006), frames


async def test_bad_tokens_close_4401_on_query_and_header(
    server: ServerProcess, user: NewUser
) -> None:
    alice = await user()
    for flaw, header in bad_tokens(alice.id).items():
        if header is None:
            code, frames = await closed_with(server.ws_url)
        else:
            code, frames = await closed_with(server.ws_url, {"Authorization": header})
        assert (code, frames) == (4401, []), flaw  # never a hello, never the user's data
        scheme, _, token = (header or "").partition(" ")
        if scheme == "Bearer" and token:
            code, frames = await closed_with(f"{server.ws_url}?token={token}")
            assert (code, frames) == (4401, []), flaw


async def test_outsider_signals_of_every_kind_reach_no_one(user: NewUser, connect: Connect) -> None:
    alice, bob, mallory = await user(), await user(), await user()
    a, b = await connect(alice, "alice-dev-1"), await connect(bob, "bob-dev-01")
    m = await connect(mallory, "mallory-01")
    assert m.hello["data"]["activeCall"] is None
    call = await alice.initiate(bob, connectionId="alice-dev-1")
    await a.next("call.initiated")
    await b.next("call.incoming")

    async def outsider_refused() -> None:
        for n, (kind, payload) in enumerate(KINDS.items()):
            error = await m.signal(call["id"], kind, payload, frame_id=f"m{n}")
            # The same answer as for a call that does not exist: its state does not leak.
            assert error == {
                "type": "error",
                "id": f"m{n}",
                "data": {"code": "call_not_found", "message": "Call not found"},
            }, kind
        forged_from = {
            "type": "signal",
            "id": "spoof",
            "data": {"callId": call["id"], "kind": "offer", "payload": KINDS["offer"]},
            "from": alice.id,
        }
        await m.send(forged_from)  # claiming to be alice changes nothing
        assert (await m.next("error"))["data"]["code"] == "call_not_found"

    async def nothing_reached(*devices: Device) -> None:
        for device in devices:
            seen = await device.call_events(0.5)
            assert all(frame["type"] != "signal" for frame in seen), seen

    await outsider_refused()  # ringing
    await nothing_reached(a, b)
    await bob.patch(call["id"], "answer", {"accept": True, "connectionId": "bob-dev-01"})
    await a.next("call.answered")
    await b.next("call.answered")
    await outsider_refused()  # answered
    await nothing_reached(a, b)
    await alice.patch(call["id"], "end")
    await outsider_refused()  # ended: still not found, never `call_not_active`
    # The outsider saw no event of the call at all.
    assert await m.call_events(0.5) == []


async def test_outsider_cannot_bind_someone_elses_device(user: NewUser, connect: Connect) -> None:
    alice, bob, mallory = await user(), await user(), await user()
    await connect(alice, "alice-dev-2")
    await connect(mallory, "mallory-02")
    # Mallory names alice's device on her own call: it is not one of her connections.
    refused = await mallory.http.post(
        "/calls/initiate",
        json={"receiverId": bob.id, "callType": "audio", "connectionId": "alice-dev-2"},
    )
    assert refused.status_code == 422 and refused.json()["code"] == "unknown_connection"
    call = await mallory.initiate(bob)
    answered = await bob.http.patch(
        f"/calls/{call['id']}/answer", json={"accept": True, "connectionId": "mallory-02"}
    )
    assert answered.status_code == 422 and answered.json()["code"] == "unknown_connection"
    assert (await bob.get_call(call["id"]))["status"] == "initiated"
    await mallory.patch(call["id"], "end")


async def test_hello_shows_only_my_own_call(user: NewUser, connect: Connect) -> None:
    alice, bob, mallory = await user(), await user(), await user()
    call = await alice.initiate(bob)
    m = await connect(mallory)
    assert m.hello["data"]["activeCall"] is None
    assert json.dumps(m.hello).count(call["id"]) == 0
    b = await connect(bob)
    assert b.hello["data"]["activeCall"]["id"] == call["id"]
    await alice.patch(call["id"], "end")
