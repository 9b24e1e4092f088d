"""Switchboard's async Python SDK: REST, the WebSocket gateway, calls, and aiortc media.

It speaks only the wire contract (``API.md``) and imports none of the server's modules.
See ``docs/python-client.md``.
"""

from .calls import Call, CallControl, CallEnded
from .gateway import Backoff, Event, EventStream, GatewayClosed, GatewayError, GatewaySession
from .http import ApiClient, ApiError
from .ice import (
    END_OF_CANDIDATES,
    InvalidCandidate,
    candidate_from_init,
    candidate_to_init,
    restrict_host_addresses,
    rtc_configuration,
)
from .media import MediaOptions, MediaPeer, SwitchableTrack, start_media
from .models import CallData, Conversation, Hello, IceServer, Signal, User
from .phone import Phone
from .sinks import AudioCapture, VideoCapture
from .synthetic import (
    FrameCounterTrack,
    ToneTrack,
    decode_frame_counter,
    dominant_frequency,
    read_wav_mono,
    write_tone_wav,
)

__all__ = [
    "END_OF_CANDIDATES",
    "ApiClient",
    "ApiError",
    "AudioCapture",
    "Backoff",
    "Call",
    "CallControl",
    "CallData",
    "CallEnded",
    "Conversation",
    "Event",
    "EventStream",
    "FrameCounterTrack",
    "GatewayClosed",
    "GatewayError",
    "GatewaySession",
    "Hello",
    "IceServer",
    "InvalidCandidate",
    "MediaOptions",
    "MediaPeer",
    "Phone",
    "Signal",
    "SwitchableTrack",
    "ToneTrack",
    "User",
    "VideoCapture",
    "candidate_from_init",
    "candidate_to_init",
    "decode_frame_counter",
    "dominant_frequency",
    "read_wav_mono",
    "restrict_host_addresses",
    "rtc_configuration",
    "start_media",
    "write_tone_wav",
]
