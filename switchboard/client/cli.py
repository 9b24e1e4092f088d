"""``switchboard call`` and ``switchboard answer``: calls from the terminal.

- ``switchboard call USER --audio FILE`` places a call to ``USER``, plays ``FILE`` once the call
  is answered and hangs up at its end (``--tone HZ --duration S`` plays a sine tone instead).
- ``switchboard answer --record FILE`` answers incoming calls and records what it hears with
  aiortc's ``MediaRecorder`` (``.wav``: audio; ``.mp4``/``.webm``: audio and video). ``--count N``
  stops after N calls; ``{n}`` / ``{call_id}`` in FILE give each call its own file.

Both take ``--server`` (default http://127.0.0.1:8000), ``--username``/``--password`` (or
``SWITCHBOARD_USERNAME``/``SWITCHBOARD_PASSWORD``), ``--device-id`` and ``--host-address`` (repeat
it to restrict ICE host candidates, e.g. ``--host-address 127.0.0.1``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from pathlib import Path
from typing import Any

from aiortc import MediaStreamTrack
from aiortc.contrib.media import MediaPlayer, MediaRecorder

from .calls import Call, CallEnded
from .http import ApiClient, ApiError
from .media import MediaOptions, start_media
from .phone import Phone
from .synthetic import ToneTrack

DEFAULT_SERVER = "http://127.0.0.1:8000"


def add_client_commands(subparsers: Any) -> None:
    """Register ``call`` and ``answer`` on an argparse ``add_subparsers()`` object.

    Each sets ``run`` to a synchronous function returning the exit status.
    """
    call = subparsers.add_parser("call", help="place a call and play a file (or a tone)")
    call.add_argument("user", help="the username (or user id) to call")
    source = call.add_mutually_exclusive_group(required=True)
    source.add_argument("--audio", metavar="FILE", help="audio file to play (any FFmpeg format)")
    source.add_argument("--tone", metavar="HZ", type=float, help="play a sine tone instead")
    call.add_argument("--duration", type=float, default=5.0, help="tone length in seconds")
    call.add_argument("--video", action="store_true", help="make a video call (audio only sent)")
    call.add_argument("--ring-timeout", type=float, default=60.0, help="give up after (s)")
    call.add_argument("--linger", type=float, default=0.5, help="wait after the end before hang-up")
    _common(call)
    call.set_defaults(run=lambda args: asyncio.run(call_main(args)))

    answer = subparsers.add_parser("answer", help="answer incoming calls and record them")
    answer.add_argument("--record", metavar="FILE", required=True, help="file to record into")
    answer.add_argument("--count", type=int, default=0, help="stop after N calls (0: never)")
    answer.add_argument("--max-seconds", type=float, default=0.0, help="hang up after (0: never)")
    _common(answer)
    answer.set_defaults(run=lambda args: asyncio.run(answer_main(args)))


def build_parser() -> argparse.ArgumentParser:
    """A parser with just the client commands (``python -m switchboard.client.cli``)."""
    parser = argparse.ArgumentParser(prog="switchboard", description="Switchboard client")
    add_client_commands(parser.add_subparsers(dest="command", required=True))
    return parser


def build_args(argv: list[str]) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.run(args))


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", default=DEFAULT_SERVER, help="the server's base URL")
    parser.add_argument("--username", default=os.environ.get("SWITCHBOARD_USERNAME"))
    parser.add_argument("--password", default=os.environ.get("SWITCHBOARD_PASSWORD"))
    parser.add_argument("--register", action="store_true", help="create the account if needed")
    parser.add_argument("--device-id", default=None, help="this device's id (8-64 [A-Za-z0-9_-])")
    parser.add_argument(
        "--host-address",
        action="append",
        dest="host_addresses",
        metavar="ADDR",
        help="gather ICE host candidates on this address only (repeatable)",
    )


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def _open_phone(args: argparse.Namespace) -> Phone:
    if not args.username or not args.password:
        raise SystemExit("error: give --username/--password or SWITCHBOARD_USERNAME/_PASSWORD")
    api = ApiClient(args.server)
    try:
        if args.register:
            try:
                await api.register(args.username, args.password)
            except ApiError as exc:
                if exc.code != "username_taken":
                    raise
                await api.login(args.username, args.password)
        else:
            await api.login(args.username, args.password)
        return await Phone.open(api, device_id=args.device_id)
    except BaseException:
        await api.aclose()
        raise


def _options(args: argparse.Namespace) -> MediaOptions:
    return MediaOptions(host_addresses=args.host_addresses)


async def _ended(track: MediaStreamTrack) -> None:
    done = asyncio.get_running_loop().create_future()

    def on_ended() -> None:
        if not done.done():
            done.set_result(None)

    if track.readyState == "ended":
        return
    track.on("ended", on_ended)
    await done


async def call_main(args: argparse.Namespace) -> int:
    """``switchboard call``: place a call, play the file once answered, hang up at its end."""
    player: MediaPlayer | None = None
    if args.audio is not None:
        player = MediaPlayer(args.audio)
        if player.audio is None:
            _say(f"error: {args.audio} has no audio stream")
            return 2
        source: MediaStreamTrack = player.audio
    else:
        source = ToneTrack(args.tone)
    try:
        phone = await _open_phone(args)
    except ApiError as exc:
        _say(f"error: {exc}")
        return 1
    async with phone:
        try:
            call = await phone.call(args.user, call_type="video" if args.video else "audio")
        except ApiError as exc:
            _say(f"error: {exc}")
            return 1
        _say(f"calling {call.peer['username']} (call {call.id})...")
        peer = await start_media(phone, call, audio=source, options=_options(args))
        try:
            await call.wait_answered(timeout=args.ring_timeout)
            _say("answered")
            await peer.wait_connected(timeout=30)
            _say("media connected: playing")
            if args.audio is None:
                await _wait_or_ended(call, asyncio.sleep(args.duration))
            else:
                await _wait_or_ended(call, _ended(source))
            await _wait_or_ended(call, asyncio.sleep(args.linger))
        except CallEnded as exc:
            _say(f"call over: {exc}")
            return 1
        except TimeoutError:
            _say("no answer")
            return 1
        finally:
            await peer.hang_up()
            if player is not None:
                source.stop()
        _say(f"hung up: {call.status} ({call.data.get('endReason')})")
    return 0


async def _wait_or_ended(call: Call, waiting: Any) -> None:
    """Wait for ``waiting`` unless the call ends first (then raise :class:`CallEnded`)."""
    work = asyncio.ensure_future(waiting)
    ended = asyncio.ensure_future(call.wait_ended())
    try:
        await asyncio.wait({work, ended}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (work, ended):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, CallEnded):
                await task
    if call.is_terminal:
        raise CallEnded(call)


def _record_path(template: str, n: int, call: Call, many: bool) -> Path:
    if "{" in template:
        return Path(template.format(n=n, call_id=call.id))
    path = Path(template)
    return path if n == 1 or not many else path.with_stem(f"{path.stem}-{n}")


async def answer_main(args: argparse.Namespace) -> int:
    """``switchboard answer``: answer incoming calls and record what they carry."""
    try:
        phone = await _open_phone(args)
    except ApiError as exc:
        _say(f"error: {exc}")
        return 1
    async with phone:
        _say(f"waiting for calls as {phone.user['username']}...")
        n = 0
        while args.count == 0 or n < args.count:
            call = await phone.next_incoming()
            if call.status != "initiated":
                continue  # over, or answered on another device, before we got to it
            n += 1
            path = _record_path(args.record, n, call, args.count != 1)
            _say(f"call from {call.peer['username']} (call {call.id}): recording to {path}")
            try:
                await _answer_and_record(phone, call, path, args)
            except (ApiError, CallEnded) as exc:
                _say(f"call {call.id} not recorded: {exc}")
                continue
            _say(f"call over: {call.status} ({call.data.get('endReason')}), {path} written")
    return 0


async def _answer_and_record(
    phone: Phone, call: Call, path: Path, args: argparse.Namespace
) -> None:
    peer = await start_media(phone, call, options=_options(args))
    recorder: MediaRecorder | None = None
    try:
        await call.answer()
        await peer.wait_connected(timeout=30)
        recorder = MediaRecorder(str(path))
        recorder.addTrack(await peer.remote_track("audio", timeout=10))
        if call.data["callType"] == "video" and path.suffix.lower() in (".mp4", ".webm", ".mkv"):
            recorder.addTrack(await peer.remote_track("video", timeout=10))
        await recorder.start()
        if args.max_seconds > 0:
            with contextlib.suppress(TimeoutError):
                await call.wait_ended(timeout=args.max_seconds)
        else:
            await call.wait_ended()
    finally:
        await peer.hang_up()
        if recorder is not None:
            await recorder.stop()


if __name__ == "__main__":
    sys.exit(main())
