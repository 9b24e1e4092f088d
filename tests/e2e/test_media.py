"""Real WebRTC calls between aiortc peers through a real Switchboard server (issue 4).

All media stays on 127.0.0.1 (``LOOPBACK_MEDIA``). Each peer is a user with ``switchboard.client``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from pathlib import Path

import numpy as np
import pytest

from switchboard.client import (
    ApiClient,
    ApiError,
    AudioCapture,
    Backoff,
    FrameCounterTrack,
    GatewayError,
    MediaPeer,
    ToneTrack,
    VideoCapture,
    dominant_frequency,
    read_wav_mono,
    start_media,
    write_tone_wav,
)
from switchboard.client.cli import answer_main, build_args, call_main

from .conftest import (
    GRACE_SECONDS,
    LOOPBACK,
    LOOPBACK_MEDIA,
    PASSWORD,
    PhoneFactory,
    Server,
    unique_name,
)

pytestmark = pytest.mark.timeout(60)

CALLER_TONE = 440.0
CALLEE_TONE = 1000.0


async def check_audio(peer: MediaPeer, expected_hz: float) -> AudioCapture:
    """Receive ~1 s of audio on ``peer`` and check its dominant frequency."""
    capture = AudioCapture(await peer.remote_track("audio", timeout=10))
    capture.start()
    try:
        await capture.wait_frames(60, timeout=10)  # 60 x 20 ms
    finally:
        await capture.stop()
    samples = capture.samples(last_seconds=0.5)
    assert np.abs(samples).max() > 1000, "the received audio is silent"
    assert dominant_frequency(samples, capture.sample_rate) == pytest.approx(expected_hz, abs=5)
    return capture


async def check_video(peer: MediaPeer) -> VideoCapture:
    """Receive frames on ``peer``: they decode to increasing counters, so they change."""
    capture = VideoCapture(await peer.remote_track("video", timeout=10))
    capture.start()
    try:
        await capture.wait_frames(30, timeout=10)
    finally:
        await capture.stop()
    counters = capture.counters
    steps = [(b - a) % 256 for a, b in itertools.pairwise(counters)]
    assert len(set(counters)) >= 20, f"frames do not change: {counters}"
    # Frames arrive in order: nearly every step is +1 (a dropped frame makes a +2).
    assert sum(1 <= s <= 3 for s in steps) >= 0.9 * len(steps), counters
    assert capture.sizes == {(320, 240)}
    return capture


async def test_audio_video_call_flows_both_ways_and_hangs_up(make_phone: PhoneFactory) -> None:
    alice = await make_phone()
    bob = await make_phone()

    call = await alice.call(bob.user["username"], call_type="video")
    caller_peer = await start_media(
        alice, call, audio=ToneTrack(CALLER_TONE), video=FrameCounterTrack(), options=LOOPBACK_MEDIA
    )
    incoming = await bob.next_incoming(timeout=5)
    assert incoming.id == call.id
    assert incoming.data["direction"] == "incoming"
    callee_peer = await start_media(
        bob,
        incoming,
        audio=ToneTrack(CALLEE_TONE),
        video=FrameCounterTrack(),
        options=LOOPBACK_MEDIA,
    )
    await incoming.answer()
    await call.wait_answered(timeout=5)
    await asyncio.gather(caller_peer.wait_connected(20), callee_peer.wait_connected(20))

    # Audio and video frames arrive on both sides, with what the other side sent.
    await asyncio.gather(
        check_audio(callee_peer, CALLER_TONE),
        check_audio(caller_peer, CALLEE_TONE),
        check_video(callee_peer),
        check_video(caller_peer),
    )
    await asyncio.sleep(max(0.0, 1.2))  # so that the call lasts at least a whole second

    await caller_peer.hang_up()
    ended_for_bob = await incoming.wait_ended(timeout=5)
    assert ended_for_bob["status"] == "ended"
    assert ended_for_bob["endReason"] == "hangup"
    assert ended_for_bob["endedBy"] == alice.user["id"]
    assert call.status == "ended"
    assert incoming.statuses == ["initiated", "answered", "ended"]
    assert call.statuses == ["initiated", "answered", "ended"]
    await callee_peer.close()
    assert callee_peer.connection_state == "closed"

    # The history of both shows the call with its duration.
    for phone, direction in ((alice, "outgoing"), (bob, "incoming")):
        page = await phone.api.call_history(limit=5)
        (entry,) = [c for c in page["calls"] if c["id"] == call.id]
        assert entry["status"] == "ended"
        assert entry["direction"] == direction
        assert entry["callType"] == "video"
        assert entry["duration"] >= 1
        assert entry["answeredAt"] is not None
        assert entry["endedAt"] is not None


async def test_callee_with_two_devices_media_goes_to_the_answering_one(
    make_phone: PhoneFactory,
) -> None:
    alice = await make_phone(device_id="alice-laptop")
    bob_name = unique_name("bob")
    bob_phone = await make_phone(bob_name, device_id="bob-phone-1")
    bob_laptop = await make_phone(bob_name, device_id="bob-laptop-1")

    call = await alice.call(bob_name, call_type="audio")
    caller_peer = await start_media(
        alice, call, audio=ToneTrack(CALLER_TONE), options=LOOPBACK_MEDIA
    )
    ringing_phone = await bob_phone.next_incoming(timeout=5)
    ringing_laptop = await bob_laptop.next_incoming(timeout=5)
    assert ringing_phone.id == ringing_laptop.id == call.id

    # The laptop's peer is started too: it must get no offer, since the phone answers.
    laptop_peer = await start_media(bob_laptop, ringing_laptop, options=LOOPBACK_MEDIA)
    phone_peer = await start_media(
        bob_phone, ringing_phone, audio=ToneTrack(CALLEE_TONE), options=LOOPBACK_MEDIA
    )
    await ringing_phone.answer()

    # The other device stops ringing: call.answered names the answering device.
    await ringing_laptop.wait_answered(timeout=5)
    assert ringing_laptop.answered_connection_id == "bob-phone-1"
    assert ringing_laptop.answered_elsewhere
    assert not ringing_phone.answered_elsewhere
    await call.wait_answered(timeout=5)
    assert call.answered_connection_id == "bob-phone-1"

    # Media connects to the answering device, not the other.
    await asyncio.gather(caller_peer.wait_connected(20), phone_peer.wait_connected(20))
    await asyncio.gather(
        check_audio(phone_peer, CALLER_TONE), check_audio(caller_peer, CALLEE_TONE)
    )
    assert laptop_peer.pc.remoteDescription is None
    assert laptop_peer.connection_state == "new"
    with pytest.raises(GatewayError) as refused:
        await ringing_laptop.signal("media-state", {"audio": True, "video": False})
    assert refused.value.code == "not_answering_device"

    await phone_peer.hang_up()
    await call.wait_ended(timeout=5)
    await ringing_laptop.wait_ended(timeout=5)
    for peer in (caller_peer, laptop_peer):
        await peer.close()


async def test_device_that_reconnects_mid_call_keeps_the_call(make_phone: PhoneFactory) -> None:
    alice = await make_phone(device_id="alice-desk-1")
    # Bob's device stays away about half the grace period before it reconnects.
    bob = await make_phone(
        device_id="bob-desk-1", backoff=Backoff(initial=GRACE_SECONDS / 2, jitter=0)
    )

    call = await alice.call(bob.user["username"])
    caller_peer = await start_media(
        alice, call, audio=ToneTrack(CALLER_TONE), options=LOOPBACK_MEDIA
    )
    incoming = await bob.next_incoming(timeout=5)
    callee_peer = await start_media(
        bob, incoming, audio=ToneTrack(CALLEE_TONE), options=LOOPBACK_MEDIA
    )
    await incoming.answer()
    await asyncio.gather(caller_peer.wait_connected(20), callee_peer.wait_connected(20))

    # Cut bob's TCP connection (no closing handshake: a network drop); the session reconnects
    # with the same deviceId and reads a new hello.
    events = bob.session.subscribe()
    ws = bob.session._ws
    assert ws is not None
    ws.transport.abort()
    disconnected = await events.wait_for("client.disconnected", timeout=5)
    hello = await events.wait_for("hello", timeout=10)
    events.close()
    assert disconnected.data["code"] == 1006
    assert bob.session.reconnects == 1
    assert hello.data["connectionId"] == "bob-desk-1"
    assert hello.data["activeCall"] is not None
    assert hello.data["activeCall"]["id"] == call.id
    assert hello.data["activeCall"]["status"] == "answered"

    # Outlast the grace period (counted from the drop): the reconnect cancelled it.
    await asyncio.sleep(GRACE_SECONDS + 1.5)
    assert (await alice.api.get_call(call.id))["status"] == "answered"
    assert call.status == "answered" and incoming.status == "answered"

    # The device's binding survived: it can still signal in the call, and media still flows.
    await incoming.signal("media-state", {"audio": True, "video": False})
    state = await caller_peer.wait_media_state(timeout=5)
    assert state == {"audio": True, "video": False}
    await check_audio(caller_peer, CALLEE_TONE)

    await caller_peer.hang_up()
    await incoming.wait_ended(timeout=5)
    await callee_peer.close()


async def test_device_that_stays_away_loses_the_call(make_phone: PhoneFactory) -> None:
    alice = await make_phone(device_id="alice-desk-2")
    bob = await make_phone(device_id="bob-desk-2")
    call = await alice.call(bob.user["username"])
    incoming = await bob.next_incoming(timeout=5)
    await incoming.answer()
    await call.wait_answered(timeout=5)

    await bob.session.close()  # gone for good
    ended = await call.wait_ended(timeout=GRACE_SECONDS + 5)
    assert (ended["status"], ended["endReason"], ended["endedBy"]) == (
        "ended",
        "connection_lost",
        None,
    )


async def test_media_state_mutes_and_is_relayed(make_phone: PhoneFactory) -> None:
    alice = await make_phone()
    bob = await make_phone()
    call = await alice.call(bob.user["username"])
    caller_peer = await start_media(
        alice, call, audio=ToneTrack(CALLER_TONE), options=LOOPBACK_MEDIA
    )
    incoming = await bob.next_incoming(timeout=5)
    callee_peer = await start_media(bob, incoming, options=LOOPBACK_MEDIA)
    await incoming.answer()
    await asyncio.gather(caller_peer.wait_connected(20), callee_peer.wait_connected(20))
    await check_audio(callee_peer, CALLER_TONE)

    await caller_peer.set_media_state(audio=False, video=False)
    await callee_peer.wait_media_state({"audio": False, "video": False}, timeout=5)
    capture = AudioCapture(await callee_peer.remote_track("audio"))
    capture.start()
    await asyncio.sleep(0.6)  # let frames sent before the mute drain
    capture._chunks.clear()
    await capture.wait_frames(capture.frames + 25, timeout=5)
    await capture.stop()
    assert np.abs(capture.samples()).max() < 200, "muted audio should be silence"

    await caller_peer.hang_up()
    await incoming.wait_ended(timeout=5)
    await callee_peer.close()


async def test_cli_call_and_answer_record_the_played_audio(server: Server, tmp_path: Path) -> None:
    caller, callee = unique_name("cli_caller"), unique_name("cli_callee")
    played = write_tone_wav(tmp_path / "tone.wav", 660.0, 3.0)
    recorded = tmp_path / "recorded.wav"
    common = [
        "--server",
        server.url,
        "--password",
        PASSWORD,
        "--register",
        "--host-address",
        LOOPBACK,
    ]
    answer_args = build_args(
        [
            "answer",
            "--record",
            str(recorded),
            "--count",
            "1",
            "--username",
            callee,
            "--device-id",
            "cli-answer-1",
            *common,
        ]
    )
    answering = asyncio.create_task(answer_main(answer_args))
    try:
        # The callee must exist (and be listening) before the call is placed.
        await _wait_online(server, callee)
        call_args = build_args(
            ["call", callee, "--audio", str(played), "--username", caller, *common]
        )
        assert await call_main(call_args) == 0
        assert await asyncio.wait_for(answering, 15) == 0
    finally:
        answering.cancel()
        await asyncio.gather(answering, return_exceptions=True)

    samples, rate = read_wav_mono(recorded)
    assert samples.size > rate * 1.5, f"only {samples.size / rate:.2f} s recorded"
    loud = samples[np.abs(samples) > 0]
    assert loud.size > rate, "the recording is mostly silence"
    middle = samples[samples.size // 4 : 3 * samples.size // 4]
    assert dominant_frequency(middle, rate) == pytest.approx(660.0, abs=5)


async def _wait_online(server: Server, username: str) -> None:
    async with ApiClient(server.url) as api:
        await api.register(unique_name("probe"), PASSWORD)
        async with asyncio.timeout(10):
            while True:
                with contextlib.suppress(ApiError):
                    if (await api.find_user(username))["online"]:
                        return
                await asyncio.sleep(0.05)
