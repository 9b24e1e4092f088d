"""Real WebRTC media for a :class:`~switchboard.client.calls.Call`, with aiortc.

```python
options = MediaOptions(host_addresses=["127.0.0.1"])        # loopback-only ICE (tests)
call = await phone.call("bob", call_type="video")
peer = await start_media(phone, call, audio=ToneTrack(440), video=FrameCounterTrack(),
                         options=options)
await peer.wait_connected(timeout=20)
video = await peer.remote_track("video")
...
await peer.hang_up()
```

What :class:`MediaPeer` does, following ``API.md`` and ``WEBRTC-TESTING.md``:

- The caller makes the offer when the call is answered (``call.answered``); the callee answers
  offers. An ``offer`` on a connected peer is a renegotiation and is answered the same way; a
  ``renegotiate`` signal makes this side send a new offer.
- aiortc puts its candidates in the SDP; trickled browser candidates (``RTCIceCandidateInit``,
  ``{candidate: ""}`` for the end) are added with
  :func:`~switchboard.client.ice.candidate_from_init`.
- ``media-state`` signals of the other side are kept in :attr:`MediaPeer.remote_media_state`;
  :meth:`MediaPeer.set_media_state` mutes/unmutes the local tracks (silence / black frames) and
  tells the other side.
- When the call reaches a terminal status, the peer connection is closed; when ICE fails, the
  call is ended with reason ``ice_failed`` (unless ``MediaOptions.end_call_on_failure`` is off).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Self, cast

import numpy as np
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame

from .calls import Call, CallEnded
from .ice import InvalidCandidate, candidate_from_init, restrict_host_addresses, rtc_configuration
from .models import IceServer, MediaState, Signal
from .phone import Phone

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class MediaOptions:
    """How a :class:`MediaPeer` sets up WebRTC.

    ``host_addresses``
        Gather ICE host candidates on these local addresses only (e.g. ``["127.0.0.1"]`` for
        tests that must stay on loopback; see ``WEBRTC-TESTING.md``). ``None``: aioice's
        default, every non-loopback interface address.
    ``ice_servers``
        STUN/TURN servers in the contract's form. ``None``: :func:`start_media` asks the server
        (``GET /calls/ice-servers``); an empty list: none (never aiortc's public default).
    ``end_call_on_failure``
        End the call (reason ``ice_failed``) when the peer connection fails.
    """

    host_addresses: Sequence[str] | None = None
    ice_servers: Sequence[IceServer] | None = None
    end_call_on_failure: bool = True


class SwitchableTrack(MediaStreamTrack):
    """Relays a source track; while disabled, sends silence (audio) or black frames (video)."""

    def __init__(self, source: MediaStreamTrack) -> None:
        super().__init__()
        self.kind = source.kind
        self.source = source
        self.enabled = True
        source.on("ended", self.stop)

    async def recv(self) -> AudioFrame | VideoFrame:
        try:
            frame = await self.source.recv()
        except MediaStreamError:
            self.stop()
            raise
        if self.enabled:
            return cast(AudioFrame | VideoFrame, frame)
        return _blank(frame)

    def stop(self) -> None:
        super().stop()
        self.source.stop()


def _blank(frame: Any) -> AudioFrame | VideoFrame:
    blank: AudioFrame | VideoFrame
    if isinstance(frame, AudioFrame):
        blank = AudioFrame(
            format=frame.format.name, layout=frame.layout.name, samples=frame.samples
        )
        for plane in blank.planes:
            plane.update(bytes(plane.buffer_size))
        blank.sample_rate = frame.sample_rate
    else:
        black = np.zeros((frame.height, frame.width, 3), dtype=np.uint8)
        blank = VideoFrame.from_ndarray(black, format="rgb24")
    blank.pts = frame.pts
    blank.time_base = frame.time_base
    return blank


class MediaPeer:
    """The WebRTC side of one call on this device (see the module docs)."""

    def __init__(
        self,
        call: Call,
        *,
        audio: MediaStreamTrack | None = None,
        video: MediaStreamTrack | None = None,
        options: MediaOptions | None = None,
    ) -> None:
        self.call = call
        self.options = options or MediaOptions()
        self.local_tracks: dict[str, SwitchableTrack] = {}
        for kind, track in (("audio", audio), ("video", video)):
            if track is not None:
                if track.kind != kind:
                    raise ValueError(f"{kind} must be an {kind} track, not {track.kind}")
                self.local_tracks[kind] = SwitchableTrack(track)
        self.pc = RTCPeerConnection(rtc_configuration(self.options.ice_servers or ()))
        self.remote_tracks: dict[str, MediaStreamTrack] = {}
        #: The other side's last ``media-state`` (``{audio, video}``), ``None`` until one came.
        self.remote_media_state: MediaState | None = None
        self.on_media_state: Callable[[MediaState], None] | None = None
        self.candidates_added = 0
        self.end_of_candidates = False
        self._track_arrived = asyncio.Event()
        self._state_changed = asyncio.Event()
        self._media_state_changed = asyncio.Event()
        self._tracks_added = False
        self._pending_candidates: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None
        self._close_task: asyncio.Future[None] | None = None
        self.pc.on("track", self._on_track)
        self.pc.on("connectionstatechange", self._on_connection_state)

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Start handling the call's signals (the caller offers once the call is answered)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"media-{self.call.id}")

    async def close(self) -> None:
        """Close the peer connection and stop the local tracks (idempotent)."""
        await self._close_pc()
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def hang_up(self, reason: str | None = None) -> None:
        """End the call on the server, then close the media."""
        try:
            if not self.call.is_terminal:
                await self.call.end(reason)
        finally:
            await self.close()

    async def __aenter__(self) -> Self:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- state ----------------------------------------------------------------------------

    @property
    def connection_state(self) -> str:
        return str(self.pc.connectionState)

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Wait for the peer connection to be ``connected``; raise if it fails or closes."""
        async with asyncio.timeout(timeout):
            while self.pc.connectionState != "connected":
                if self.pc.connectionState in ("failed", "closed"):
                    raise ConnectionError(f"peer connection {self.pc.connectionState}")
                if self._task is not None and self._task.done():
                    self._task.result()  # raise what stopped the signalling, if anything
                    raise ConnectionError("signalling ended before media connected")
                await self._state_changed.wait()
                self._state_changed.clear()

    async def remote_track(self, kind: str, timeout: float | None = None) -> MediaStreamTrack:
        """The track of ``kind`` (``audio``/``video``) received from the other side."""
        async with asyncio.timeout(timeout):
            while kind not in self.remote_tracks:
                await self._track_arrived.wait()
                self._track_arrived.clear()
        return self.remote_tracks[kind]

    async def set_media_state(self, *, audio: bool, video: bool) -> None:
        """Mute/unmute the local tracks and send ``media-state`` to the other side."""
        for kind, on in (("audio", audio), ("video", video)):
            if kind in self.local_tracks:
                self.local_tracks[kind].enabled = on
        await self.call.signal("media-state", {"audio": audio, "video": video})

    async def wait_media_state(
        self, expected: MediaState | None = None, *, timeout: float | None = None
    ) -> MediaState:
        """Wait for the other side's ``media-state`` (one equal to ``expected``, if given)."""
        async with asyncio.timeout(timeout):
            while self.remote_media_state is None or (
                expected is not None and self.remote_media_state != expected
            ):
                await self._media_state_changed.wait()
                self._media_state_changed.clear()
        return self.remote_media_state

    def _on_track(self, track: MediaStreamTrack) -> None:
        self.remote_tracks[track.kind] = track
        self._track_arrived.set()

    async def _on_connection_state(self) -> None:
        self._state_changed.set()
        state = self.pc.connectionState
        log.debug("call %s: peer connection %s", self.call.id, state)
        if state == "failed" and self.options.end_call_on_failure and not self.call.is_terminal:
            with contextlib.suppress(Exception):
                await self.call.end("ice_failed")

    # -- signalling -----------------------------------------------------------------------

    async def _run(self) -> None:
        with restrict_host_addresses(self.options.host_addresses):
            try:
                if self.call.is_caller:
                    await self.call.wait_answered()
                    await self._send_offer()
                while (signal := await self.call.next_signal()) is not None:
                    await self._on_signal(signal)
            except CallEnded:
                pass
            finally:
                await self._close_pc()

    async def _on_signal(self, signal: Signal) -> None:
        kind, payload = signal["kind"], signal["payload"]
        if kind == "offer":
            await self._on_offer(payload)
        elif kind == "answer":
            await self.pc.setRemoteDescription(_description(payload))
            await self._flush_candidates()
        elif kind == "ice-candidate":
            if self.pc.remoteDescription is None:
                self._pending_candidates.append(payload)
            else:
                await self._add_candidate(payload)
        elif kind == "renegotiate":
            await self._send_offer()
        elif kind == "media-state":
            state: MediaState = {
                "audio": bool(payload.get("audio")),
                "video": bool(payload.get("video")),
            }
            self.remote_media_state = state
            self._media_state_changed.set()
            if self.on_media_state is not None:
                self.on_media_state(state)
        else:
            log.warning("call %s: ignoring signal of kind %r", self.call.id, kind)

    def _add_local_tracks(self) -> None:
        if self._tracks_added:
            return
        self._tracks_added = True
        kinds = ["audio", "video"] if self.call.data["callType"] == "video" else ["audio"]
        kinds += [k for k in self.local_tracks if k not in kinds]
        for kind in kinds:
            track = self.local_tracks.get(kind)
            if track is not None:
                self.pc.addTrack(track)
            elif self.call.is_caller:
                self.pc.addTransceiver(kind, direction="recvonly")

    async def _send_offer(self) -> None:
        self._add_local_tracks()
        await self.pc.setLocalDescription(await self.pc.createOffer())
        await self.call.signal("offer", _init(self.pc.localDescription))

    async def _on_offer(self, payload: dict[str, Any]) -> None:
        await self.pc.setRemoteDescription(_description(payload))
        self._add_local_tracks()
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        await self.call.signal("answer", _init(self.pc.localDescription))
        await self._flush_candidates()

    async def _flush_candidates(self) -> None:
        pending, self._pending_candidates = self._pending_candidates, []
        for payload in pending:
            await self._add_candidate(payload)

    async def _add_candidate(self, payload: dict[str, Any]) -> None:
        try:
            candidate = candidate_from_init(payload)
        except InvalidCandidate as exc:
            log.warning("call %s: %s", self.call.id, exc)
            return
        if candidate is None:
            self.end_of_candidates = True
        elif candidate.protocol.lower() != "udp":
            return  # aioice speaks ICE over UDP only
        else:
            self.candidates_added += 1
        await self.pc.addIceCandidate(candidate)

    async def _close_pc(self) -> None:
        # One shared, shielded close: cancelling a task that is closing (hang-up racing the
        # end of the call) must not leave the peer connection half-closed with open sockets.
        if self._close_task is None:
            self._close_task = asyncio.ensure_future(self._do_close())
        await asyncio.shield(self._close_task)

    async def _do_close(self) -> None:
        try:
            await self.pc.close()
        finally:
            for track in self.local_tracks.values():
                track.stop()
            self._state_changed.set()


def _description(payload: dict[str, Any]) -> RTCSessionDescription:
    return RTCSessionDescription(sdp=str(payload["sdp"]), type=str(payload["type"]))


def _init(description: RTCSessionDescription) -> dict[str, Any]:
    return {"type": description.type, "sdp": description.sdp}


async def start_media(
    phone: Phone,
    call: Call,
    *,
    audio: MediaStreamTrack | None = None,
    video: MediaStreamTrack | None = None,
    options: MediaOptions | None = None,
) -> MediaPeer:
    """Create and start a :class:`MediaPeer` for ``call`` on ``phone``.

    Uses the server's ICE servers (``GET /calls/ice-servers``) unless ``options`` names some.
    Closing the phone closes the peer too.
    """
    options = options or MediaOptions()
    if options.ice_servers is None:
        servers = (await phone.api.ice_servers())["iceServers"]
        options = dataclasses.replace(options, ice_servers=servers)
    peer = MediaPeer(call, audio=audio, video=video, options=options)
    phone.on_close(peer.close)
    peer.start()
    return peer
