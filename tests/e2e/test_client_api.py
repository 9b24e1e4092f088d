"""Every REST route and the gateway, through ``switchboard.client``, against a real server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from switchboard.client import ApiClient, ApiError, GatewayClosed, GatewayError, GatewaySession

from .conftest import PASSWORD, PhoneFactory, Server, unique_name

pytestmark = pytest.mark.timeout(60)


async def test_auth_and_users(server: Server) -> None:
    name = unique_name("Auth")
    async with ApiClient(server.url) as api:
        registered = await api.register(name, PASSWORD, display_name="Auth Tester")
        assert registered["tokenType"] == "Bearer"
        assert registered["expiresIn"] > 0
        user = registered["user"]
        assert user["username"] == name.lower()  # folded
        assert user["displayName"] == "Auth Tester"
        assert set(user) == {"id", "username", "displayName", "online", "createdAt"}

        with pytest.raises(ApiError) as taken:
            await api.register(name.upper(), PASSWORD)
        assert (taken.value.status, taken.value.code) == (409, "username_taken")
        with pytest.raises(ApiError) as wrong:
            await api.login(name, "wrong-password")
        assert (wrong.value.status, wrong.value.code) == (401, "invalid_credentials")

        logged_in = await api.login(name.upper(), PASSWORD)
        assert logged_in["user"]["id"] == user["id"]
        assert (await api.me())["id"] == user["id"]
        assert (await api.get_user(user["id"]))["username"] == name.lower()
        with pytest.raises(ApiError) as missing:
            await api.get_user("not-an-id")
        assert (missing.value.status, missing.value.code) == (404, "user_not_found")

        other = unique_name("other")
        async with ApiClient(server.url) as other_api:
            await other_api.register(other, PASSWORD, display_name="Searchable Person")
        found = await api.search_users("searchable person", limit=5)
        assert [u["username"] for u in found] == [other]
        assert all(u["id"] != user["id"] for u in await api.search_users(name))  # not me
        assert (await api.find_user(other))["username"] == other

        api.token = "forged"
        with pytest.raises(ApiError) as forged:
            await api.me()
        assert (forged.value.status, forged.value.code) == (401, "unauthorized")


async def test_conversations(make_phone: PhoneFactory) -> None:
    alice, bob, carol = await make_phone(), await make_phone(), await make_phone()
    created = await alice.api.create_conversation(bob.user["id"])
    again = await bob.api.create_conversation(alice.user["id"])
    assert again["id"] == created["id"]
    assert {u["id"] for u in created["participants"]} == {alice.user["id"], bob.user["id"]}
    assert created["lastCallAt"] is None
    assert [c["id"] for c in await alice.api.list_conversations()] == [created["id"]]
    assert (await bob.api.get_conversation(created["id"]))["id"] == created["id"]
    with pytest.raises(ApiError) as outsider:
        await carol.api.get_conversation(created["id"])
    assert (outsider.value.status, outsider.value.code) == (404, "conversation_not_found")
    with pytest.raises(ApiError) as myself:
        await alice.api.create_conversation(alice.user["id"])
    assert myself.value.code == "validation_error"


async def test_call_routes(make_phone: PhoneFactory) -> None:
    alice, bob, carol = await make_phone(), await make_phone(), await make_phone()
    since = datetime.now(UTC) - timedelta(seconds=1)

    ice = await alice.api.ice_servers()
    assert isinstance(ice["iceServers"], list)
    assert ice["ttl"] > 0

    # A missed call (cancelled by the caller), then an answered one.
    cancelled = await alice.api.initiate_call(bob.user["id"])
    assert cancelled["status"] == "initiated" and cancelled["version"] == 1
    assert cancelled["_id"] == cancelled["id"]
    assert cancelled["direction"] == "outgoing"
    active = await bob.api.active_call()
    assert active is not None
    assert active["id"] == cancelled["id"]
    with pytest.raises(ApiError) as busy:
        await carol.api.initiate_call(bob.user["id"])
    assert (busy.value.status, busy.value.code) == (409, "user_busy")
    with pytest.raises(ApiError) as forbidden:
        await alice.api.answer_call(cancelled["id"])
    assert (forbidden.value.status, forbidden.value.code) == (403, "forbidden")
    missed = await alice.api.end_call(cancelled["id"])
    assert (missed["status"], missed["endReason"]) == ("missed", "cancelled")
    assert (await alice.api.end_call(cancelled["id"]))["version"] == missed["version"]

    assert await bob.api.missed_count(since=since) == 1
    assert await bob.api.missed_count(unseen=True) == 1
    seen_at = await bob.api.mark_missed_seen()
    assert seen_at.endswith("Z")
    assert await bob.api.missed_count(unseen=True) == 0

    call = await alice.api.initiate_call(bob.user["id"], call_type="video")
    answered = await bob.api.answer_call(call["id"])
    assert answered["status"] == "answered" and answered["direction"] == "incoming"
    with pytest.raises(ApiError) as invalid:
        await bob.api.set_call_status(call["id"], "missed")
    assert invalid.value.status in (403, 409)
    ended = await bob.api.set_call_status(call["id"], "ended")
    assert ended["status"] == "ended" and ended["endedBy"] == bob.user["id"]
    assert ended["version"] == 3
    assert await alice.api.active_call() is None
    assert (await alice.api.get_call(call["id"]))["status"] == "ended"
    with pytest.raises(ApiError) as hidden:
        await carol.api.get_call(call["id"])
    assert (hidden.value.status, hidden.value.code) == (404, "call_not_found")

    history = await alice.api.call_history(limit=1)
    assert [c["id"] for c in history["calls"]] == [call["id"]]  # newest first
    assert history["pagination"] == {
        "page": 1,
        "limit": 1,
        "total": 2,
        "totalPages": 2,
        "hasNext": True,
    }
    only_missed = await alice.api.call_history(status="missed", direction="outgoing")
    assert [c["id"] for c in only_missed["calls"]] == [cancelled["id"]]
    videos = await alice.api.call_history(call_type="video", with_user_id=bob.user["id"])
    assert [c["id"] for c in videos["calls"]] == [call["id"]]
    in_range = await alice.api.call_history(from_=since, to=datetime.now(UTC) + timedelta(1))
    assert in_range["pagination"]["total"] == 2

    stats = await bob.api.call_stats()
    assert (stats["total"], stats["incoming"], stats["outgoing"]) == (2, 2, 0)
    assert (stats["answered"], stats["missed"], stats["rejected"]) == (1, 1, 0)
    assert stats["byType"] == {"audio": 1, "video": 1}

    await alice.api.delete_call(call["id"])
    assert (await alice.api.call_history())["pagination"]["total"] == 1
    assert (await bob.api.call_history())["pagination"]["total"] == 2  # bob still has it
    with pytest.raises(ApiError) as deleted_twice:
        await alice.api.delete_call(call["id"])
    assert deleted_twice.value.status == 404


async def test_gateway_hello_ping_and_signal_errors(
    make_phone: PhoneFactory, server: Server
) -> None:
    alice = await make_phone(device_id="alice-device-9")
    hello = alice.session.hello
    assert hello["connectionId"] == "alice-device-9"
    assert hello["user"]["id"] == alice.user["id"]
    assert hello["activeCall"] is None
    assert await alice.session.ping() < 1
    with pytest.raises(GatewayError) as unknown:
        await alice.session.signal("no-such-call", "offer", {"type": "offer", "sdp": ""})
    assert unknown.value.code == "call_not_found"

    bad = GatewaySession(alice.api.ws_url, "forged-token")
    with pytest.raises(GatewayClosed) as refused:
        await bad.connect()
    assert refused.value.code == 4401
    await bad.close()


async def test_a_device_connecting_while_a_call_rings_gets_it_in_hello(
    make_phone: PhoneFactory,
) -> None:
    alice = await make_phone()
    bob_name = unique_name("late")
    first = await make_phone(bob_name, device_id="bob-first-1")
    call = await alice.call(bob_name, call_type="video")
    assert (await first.next_incoming(timeout=5)).id == call.id

    late = await make_phone(bob_name, device_id="bob-late-1")
    hello_call = late.session.hello["activeCall"]
    assert hello_call is not None
    assert (hello_call["id"], hello_call["status"]) == (call.id, "initiated")
    assert hello_call["direction"] == "incoming"
    ringing = await late.next_incoming(timeout=1)
    assert ringing.id == call.id

    await ringing.reject()
    assert (await call.wait_ended(timeout=5))["status"] == "rejected"
    assert call.data["direction"] == "outgoing"  # events are from the receiving user's side
    await first.calls[call.id].wait_ended(timeout=5)
