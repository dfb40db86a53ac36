"""Latency sampling shared by the viewer-side and torch-side benchmarks (numpy and stdlib only)."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np


def latencies_us(call: Callable[[np.ndarray], object], inputs: np.ndarray, warmup: int = 200) -> np.ndarray:
    """Time call(inputs[i:i+1]) once per row after a warm-up; a different latent each call, as when hovering."""
    for i in range(warmup):
        call(inputs[i % len(inputs)][None])
    samples = np.empty(len(inputs))
    for i, row in enumerate(inputs):
        single = row[None]
        started = time.perf_counter_ns()
        call(single)
        samples[i] = (time.perf_counter_ns() - started) / 1000
    return samples


def summary_us(samples: np.ndarray) -> dict:
    return {
        "p50_us": round(float(np.percentile(samples, 50)), 1),
        "p99_us": round(float(np.percentile(samples, 99)), 1),
        "calls": len(samples),
    }


def best_seconds(call: Callable[[], object], repeats: int) -> float:
    """Median wall time of `repeats` calls after one warm-up call."""
    call()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def random_latents(bounds: np.ndarray, count: int, seed: int = 0) -> np.ndarray:
    low, high = bounds[:, 0], bounds[:, 1]
    return np.random.default_rng(seed).uniform(low, high, size=(count, len(bounds))).astype(np.float32)
