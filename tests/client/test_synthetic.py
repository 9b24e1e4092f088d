"""Synthetic tracks and their checks: tone frequency, frame counters (through a real codec)."""

from __future__ import annotations

import fractions
import time
from pathlib import Path

import av
import numpy as np
import pytest
from av import AudioFrame, VideoFrame

from switchboard.client import (
    FrameCounterTrack,
    ToneTrack,
    decode_frame_counter,
    dominant_frequency,
    read_wav_mono,
    write_tone_wav,
)


@pytest.mark.parametrize("frequency", [300.0, 440.0, 1000.0, 2500.0])
async def test_tone_track_plays_its_frequency(frequency: float) -> None:
    track = ToneTrack(frequency)
    frames = [await track.recv() for _ in range(10)]  # 200 ms, paced in real time
    track.stop()
    assert all(isinstance(f, AudioFrame) for f in frames)
    assert [f.pts for f in frames] == [n * 960 for n in range(10)]
    assert {(f.sample_rate, f.samples, f.format.name, f.layout.name) for f in frames} == {
        (48_000, 960, "s16", "mono")
    }
    samples = np.concatenate([f.to_ndarray().reshape(-1) for f in frames])
    assert dominant_frequency(samples, 48_000) == pytest.approx(frequency, abs=2)
    # Phase-continuous: no jump at frame boundaries.
    assert (
        np.abs(np.diff(samples.astype(np.int64))).max()
        < 0.3 * 32767 * 2 * np.pi * frequency / 48_000 + 2
    )


async def test_tracks_are_paced_in_real_time() -> None:
    track = FrameCounterTrack(fps=50)
    start = time.monotonic()
    for _ in range(6):
        await track.recv()
    assert time.monotonic() - start == pytest.approx(5 / 50, abs=0.05)
    track.stop()


async def test_frame_counter_survives_vp8() -> None:
    track = FrameCounterTrack(width=320, height=240, fps=100)
    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height, encoder.pix_fmt = 320, 240, "yuv420p"
    encoder.time_base = fractions.Fraction(1, 90_000)
    encoder.bit_rate = 300_000
    decoder = av.CodecContext.create("libvpx", "r")
    decoded: list[int] = []
    for _ in range(40):
        frame = await track.recv()
        assert isinstance(frame, VideoFrame)
        for packet in encoder.encode(frame.reformat(format="yuv420p")):
            decoded += [decode_frame_counter(f) for f in decoder.decode(packet)]
    track.stop()
    assert decoded == list(range(len(decoded)))
    assert len(decoded) >= 30


def test_counter_wraps_at_256_and_frames_differ() -> None:
    track = FrameCounterTrack()
    for index in (0, 1, 127, 255, 256, 300):
        image = track.image(index)
        frame = VideoFrame.from_ndarray(image, format="rgb24")
        assert decode_frame_counter(frame) == index % 256
    assert not np.array_equal(track.image(1), track.image(2))
    with pytest.raises(ValueError, match="multiple"):
        FrameCounterTrack(width=100)


def test_wav_round_trip(tmp_path: Path) -> None:
    path = write_tone_wav(tmp_path / "tone.wav", 523.25, 0.5, sample_rate=16_000)
    samples, rate = read_wav_mono(path)
    assert rate == 16_000 and samples.size == 8_000
    assert dominant_frequency(samples, rate) == pytest.approx(523.25, abs=1)


def test_dominant_frequency_needs_samples() -> None:
    with pytest.raises(ValueError, match="too few"):
        dominant_frequency([0.0, 1.0], 48_000)
