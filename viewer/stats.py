"""Frame statistics: frame and decode timings in fixed-size rings, the frame rate for the HUD, resident
memory, and the `--stats` JSON. Nothing here draws or decodes."""

from __future__ import annotations

import os
import sys
import time
from collections import deque
from pathlib import Path

import numpy as np

from latent_common.atomic import write_json

TIMING_WINDOW = 100_000  # an open-ended session reports percentiles over its last this-many frames
MEMORY_BASELINE_FRAME = 1000  # resident memory is sampled here and at the end (the soak test's figures)
FPS_WINDOW = 120  # frames the HUD's frame rate is averaged over


def resident_mb() -> float:
    """Current resident memory of this process (Linux /proc; peak RSS elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


class Samples:
    """A fixed-size ring of float64 timings: its memory is taken once, so a long session doesn't grow."""

    def __init__(self, capacity: int):
        self.values = np.full(capacity, np.nan)  # filled now, so every page is resident from the start
        self.count = 0

    def append(self, value: float) -> None:
        self.values[self.count % len(self.values)] = value
        self.count += 1

    def kept(self) -> np.ndarray:
        return self.values[: min(self.count, len(self.values))]

    def percentile(self, q: float) -> float | None:
        kept = self.kept()
        return round(float(np.percentile(kept, q)), 3) if len(kept) else None


class FrameStats:
    """What a run measures about itself, from the first frame to the summary."""

    def __init__(self, frames: int):
        # A run of known length keeps every frame's time; an open-ended one its last TIMING_WINDOW.
        capacity = min(frames, TIMING_WINDOW) if frames else TIMING_WINDOW
        self.frame_ms = Samples(capacity)
        self.decode_us = Samples(capacity)
        self.last_decode_us = 0.0
        self.rss_mb: dict[str, float] = {}
        self.frames = 0
        self.first_frame_at = 0.0  # wall clock (time.time()) when the first frame was shown
        self.recent: deque[float] = deque(maxlen=FPS_WINDOW)
        self.cpu_started = time.process_time()
        self.cpu_s = 0.0
        self.encoded: dict | None = None  # the last picture encoded: file, z and plane point

    def decoded(self, microseconds: float) -> None:
        self.last_decode_us = microseconds
        self.decode_us.append(microseconds)

    def drawn(self, started: float) -> None:
        """A frame was drawn; `started` is its perf_counter() at the top of the loop."""
        self.frame_ms.append((time.perf_counter() - started) * 1000)
        self.first_frame_at = self.first_frame_at or time.time()

    def frame_done(self) -> None:
        self.recent.append(time.perf_counter())
        self.frames += 1
        if self.frames == MEMORY_BASELINE_FRAME:
            self.rss_mb["at_frame_1000"] = resident_mb()

    def fps(self) -> float:
        recent = self.recent
        if len(recent) > 1 and recent[-1] > recent[0]:
            return (len(recent) - 1) / (recent[-1] - recent[0])
        return 0.0

    def finish(self) -> None:
        self.cpu_s = time.process_time() - self.cpu_started
        self.rss_mb["at_end"] = resident_mb()

    def summary(self, provider: str, mode: str) -> dict:
        return {
            "frames": self.frames,
            "cpu_ms_per_frame": round(self.cpu_s * 1000 / max(self.frames, 1), 4),
            "first_frame_at": self.first_frame_at,
            "frames_drawn": self.frame_ms.count,
            "decodes": self.decode_us.count,
            "frame_ms_p50": self.frame_ms.percentile(50),
            "frame_ms_p99": self.frame_ms.percentile(99),
            "frame_ms_max": self.frame_ms.percentile(100),
            "decode_us_p50": self.decode_us.percentile(50),
            "decode_us_p99": self.decode_us.percentile(99),
            "provider": provider,
            "rss_mb": {key: round(value, 2) for key, value in self.rss_mb.items()},
            "mode": mode,
        } | ({"encoded": self.encoded} if self.encoded else {})

    def write(self, path: Path, summary: dict, raw: bool) -> None:
        """The --stats JSON; with raw, every kept frame time too (for plots)."""
        write_json(path, summary | {"frame_ms": self.frame_ms.kept().round(4).tolist()} if raw else summary)
