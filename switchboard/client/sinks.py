"""Sinks that consume a received track and keep what is needed to check it.

```python
capture = AudioCapture(await peer.remote_track("audio"))
capture.start()
await asyncio.sleep(2)
await capture.stop()
print(dominant_frequency(capture.samples(last_seconds=1), capture.sample_rate))
```
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

import numpy as np
import numpy.typing as npt
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame

from .synthetic import decode_frame_counter


class _Capture:
    def __init__(self, track: MediaStreamTrack) -> None:
        self.track = track
        self.frames = 0
        self.ended = False
        self._task: asyncio.Task[None] | None = None
        self._progress = asyncio.Event()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"capture-{self.track.kind}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def wait_frames(self, count: int, timeout: float | None = None) -> None:
        """Wait until ``count`` frames have been received."""
        async with asyncio.timeout(timeout):
            while self.frames < count:
                if self.ended:
                    raise MediaStreamError(f"track ended after {self.frames} frames")
                await self._progress.wait()
                self._progress.clear()

    async def _run(self) -> None:
        try:
            while True:
                frame = await self.track.recv()
                self.frames += 1
                self._take(frame)
                self._progress.set()
        except MediaStreamError:
            self.ended = True
            self._progress.set()

    def _take(self, frame: object) -> None:
        raise NotImplementedError


class AudioCapture(_Capture):
    """Keeps the last ``keep_seconds`` of received audio, mixed down to mono."""

    def __init__(self, track: MediaStreamTrack, *, keep_seconds: float = 10.0) -> None:
        super().__init__(track)
        self.keep_seconds = keep_seconds
        self.sample_rate = 48_000
        self._chunks: deque[npt.NDArray[np.float64]] = deque()
        self._kept = 0

    def _take(self, frame: object) -> None:
        if not isinstance(frame, AudioFrame):
            return
        self.sample_rate = frame.sample_rate
        channels = len(frame.layout.channels)
        data = frame.to_ndarray().astype(np.float64)
        if frame.format.is_planar:
            mono = data.mean(axis=0)
        else:
            mono = data.reshape(-1, channels).mean(axis=1)
        self._chunks.append(mono)
        self._kept += mono.size
        limit = int(self.keep_seconds * self.sample_rate)
        while self._chunks and self._kept - self._chunks[0].size >= limit:
            self._kept -= self._chunks.popleft().size

    def samples(self, *, last_seconds: float | None = None) -> npt.NDArray[np.float64]:
        """The kept samples (or only the last ``last_seconds``)."""
        if not self._chunks:
            return np.zeros(0)
        data = np.concatenate(list(self._chunks))
        if last_seconds is not None:
            data = data[-int(last_seconds * self.sample_rate) :]
        return data


class VideoCapture(_Capture):
    """Counts frames and reads the counter of each (see ``FrameCounterTrack``)."""

    def __init__(self, track: MediaStreamTrack, *, decode_counter: bool = True) -> None:
        super().__init__(track)
        self.decode_counter = decode_counter
        self.counters: list[int] = []
        self.sizes: set[tuple[int, int]] = set()

    def _take(self, frame: object) -> None:
        if not isinstance(frame, VideoFrame):
            return
        self.sizes.add((frame.width, frame.height))
        if self.decode_counter:
            self.counters.append(decode_frame_counter(frame))
