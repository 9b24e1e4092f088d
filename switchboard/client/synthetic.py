"""Synthetic media: a sine tone and a video whose frames carry their own number.

They make media checkable at the far end: :func:`dominant_frequency` finds the tone in what was
received, :func:`decode_frame_counter` reads the number back from a decoded video frame (it
survives VP8/H.264 compression: the number is drawn as eight wide black/white bars).
"""

from __future__ import annotations

import asyncio
import colorsys
import fractions
import math
import time
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame

COUNTER_BITS = 8
VIDEO_CLOCK_RATE = 90_000


class _PacedTrack(MediaStreamTrack):
    """Paces ``recv()`` in real time: frame ``n`` is due ``n * period`` after the first."""

    def __init__(self, period: float) -> None:
        super().__init__()
        self._period = period
        self._start: float | None = None
        self._index = 0

    async def _next_index(self) -> int:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            self._index += 1
            await asyncio.sleep(self._start + self._index * self._period - time.monotonic())
        return self._index


class ToneTrack(_PacedTrack):
    """An audio track playing a sine tone (``frequency`` Hz), in 20 ms frames of s16 mono."""

    kind = "audio"

    def __init__(
        self,
        frequency: float = 440.0,
        *,
        sample_rate: int = 48_000,
        amplitude: float = 0.3,
        ptime: float = 0.020,
    ) -> None:
        super().__init__(ptime)
        self.frequency = frequency
        self.sample_rate = sample_rate
        self.amplitude = amplitude
        self.samples_per_frame = int(sample_rate * ptime)

    def samples(self, index: int) -> npt.NDArray[np.int16]:
        """The s16 samples of frame ``index`` (phase-continuous across frames)."""
        start = index * self.samples_per_frame
        t = (start + np.arange(self.samples_per_frame)) / self.sample_rate
        wave_ = self.amplitude * np.sin(2 * math.pi * self.frequency * t)
        return (wave_ * 32767).astype(np.int16)

    async def recv(self) -> AudioFrame:
        index = await self._next_index()
        frame = AudioFrame.from_ndarray(
            self.samples(index).reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = self.sample_rate
        frame.pts = index * self.samples_per_frame
        frame.time_base = fractions.Fraction(1, self.sample_rate)
        return frame


class FrameCounterTrack(_PacedTrack):
    """A video track whose frame ``n`` shows ``n mod 256`` as eight black/white bars.

    The bars sit on a band whose colour also changes with ``n``, so the video visibly moves.
    """

    kind = "video"

    def __init__(self, *, width: int = 320, height: int = 240, fps: float = 30.0) -> None:
        super().__init__(1 / fps)
        if width % (2 * COUNTER_BITS) or height % 4:
            raise ValueError("width must be a multiple of 16 and height of 4")
        self.width = width
        self.height = height
        self.fps = fps

    def image(self, index: int) -> npt.NDArray[np.uint8]:
        """The RGB image of frame ``index``: a coloured band over the counter bars."""
        img = np.zeros((self.height, self.width, 3), dtype=np.uint8)
        band = self.height // 4
        hue = (index % 90) / 90
        img[:band] = [round(c * 255) for c in colorsys.hsv_to_rgb(hue, 1.0, 1.0)]
        bar = self.width // COUNTER_BITS
        value = index % (1 << COUNTER_BITS)
        for bit in range(COUNTER_BITS):
            if value >> (COUNTER_BITS - 1 - bit) & 1:
                img[band:, bit * bar : (bit + 1) * bar] = 255
        return img

    async def recv(self) -> VideoFrame:
        index = await self._next_index()
        frame = VideoFrame.from_ndarray(self.image(index), format="rgb24")
        frame.pts = round(index * VIDEO_CLOCK_RATE / self.fps)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK_RATE)
        return frame


def decode_frame_counter(frame: VideoFrame) -> int:
    """Read back the number a :class:`FrameCounterTrack` drew on a (decoded) frame."""
    gray = frame.to_ndarray(format="gray").astype(np.float64)
    return decode_counter_image(gray)


def decode_counter_image(gray: npt.NDArray[np.float64]) -> int:
    """The counter from a grayscale image (``height x width``) of a counter frame."""
    height, width = gray.shape
    band = height // 4
    bar = width // COUNTER_BITS
    top, bottom = band + (height - band) // 4, height - (height - band) // 4
    value = 0
    for bit in range(COUNTER_BITS):
        left, right = bit * bar + bar // 4, (bit + 1) * bar - bar // 4
        value = value << 1 | int(gray[top:bottom, left:right].mean() > 128)
    return value


def dominant_frequency(samples: npt.ArrayLike, sample_rate: int) -> float:
    """The frequency (Hz) of the strongest spectral peak of ``samples`` (mono)."""
    data = np.asarray(samples, dtype=np.float64)
    if data.size < 16:
        raise ValueError("too few samples")
    data = data - data.mean()
    spectrum = np.abs(np.fft.rfft(data * np.hanning(data.size)))
    spectrum[0] = 0.0
    peak = int(np.argmax(spectrum))
    offset = 0.0
    if 0 < peak < spectrum.size - 1:  # parabolic interpolation between neighbouring bins
        a, b, c = spectrum[peak - 1], spectrum[peak], spectrum[peak + 1]
        denominator = a - 2 * b + c
        if denominator != 0:
            offset = 0.5 * (a - c) / denominator
    return float((peak + offset) * sample_rate / data.size)


def write_tone_wav(
    path: str | Path,
    frequency: float,
    seconds: float,
    *,
    sample_rate: int = 48_000,
    amplitude: float = 0.3,
) -> Path:
    """Write a mono 16-bit WAV file of a sine tone; return its path."""
    path = Path(path)
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    data = (amplitude * np.sin(2 * math.pi * frequency * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(data.tobytes())
    return path


def read_wav_mono(path: str | Path) -> tuple[npt.NDArray[np.float64], int]:
    """The samples (mono, mixed down) and sample rate of a 16-bit PCM WAV file."""
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2:
            raise ValueError("only 16-bit PCM WAV files are supported")
        channels, rate = wav.getnchannels(), wav.getframerate()
        raw = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    return raw.reshape(-1, channels).mean(axis=1).astype(np.float64), rate
