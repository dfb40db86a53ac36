"""Which arithmetic to train in: bf16 autocast where the hardware does it fast, fp32 where it does not.

On a CPU the answer differs by orders of magnitude between machines (one with AMX ran a 256x784x512
matmul at ~1,500 GFLOP/s in bf16 against ~240 in fp32; one with only AVX2 ran bf16 60x *slower* than
fp32), and no flag torch exposes says which, so a short probe times the layer that dominates training
(the first dense layer, at the batch size the seed used) both ways and `choose` decides from its figures.
A CUDA GPU keeps bf16 autocast without a probe: every card this project targets has bf16 tensor cores.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch

PRECISIONS = ("auto", "fp32", "bf16")
# Autocast also pays for casting the weights and for the small layers where bf16 gains little, so a
# probe that is only a little faster in bf16 would not make training faster: ask for a clear margin.
# (On the AMX CPU the probe measured ~2.2x and a whole training step 1.3x at batch 256, 2x at 1024.)
BF16_MARGIN = 1.5
PROBE_SHAPE = (256, 784, 512)  # batch x MNIST pixels x the first hidden layer: the biggest matmul of a step
PROBE_CALLS = 8  # the best of a few calls: another process on a shared core only ever makes a call slower
PROBE_BUDGET_S = 0.1  # per precision; one call over it ends that side early (bf16 without hardware support)


@dataclass
class Probe:
    """What the probe measured: each precision's best GFLOP/s on PROBE_SHAPE, and how long it took."""

    fp32_gflops: float
    bf16_gflops: float
    seconds: float


def choose(fp32_gflops: float, bf16_gflops: float, margin: float = BF16_MARGIN) -> str:
    """'bf16' when the probe's bf16 is at least `margin` times its fp32 (0 or NaN GFLOP/s never wins)."""
    return "bf16" if bf16_gflops >= margin * fp32_gflops > 0 else "fp32"


def best_seconds(call: Callable[[], object], calls: int = PROBE_CALLS, budget_s: float = PROBE_BUDGET_S) -> float:
    """The fastest of up to `calls` timed calls, stopping early once `budget_s` is spent.

    The first call counts too (it includes oneDNN's kernel set-up): when it alone exceeds the budget,
    the hardware is slow at this anyway, and a second call would only confirm it at the same cost.
    """
    times: list[float] = []
    spent = 0.0
    while len(times) < calls and spent < budget_s:
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
        spent += times[-1]
    return min(times)


def probe_cpu() -> Probe:
    """Time the probe's matmul in fp32 and under CPU bf16 autocast (as training runs it); ~0.02-0.2 s.

    On one thread: the ratio is a property of the core's instructions, and on a busy machine a second
    thread waits for a core at every barrier (2 shared cores: bf16 measured anywhere from 7 to 1,300 GFLOP/s
    on two threads, 700-780 on one).
    """
    started = time.perf_counter()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        fp32_gflops, bf16_gflops = _probe_matmul()
    finally:
        torch.set_num_threads(threads)
    return Probe(round(fp32_gflops, 1), round(bf16_gflops, 1), round(time.perf_counter() - started, 3))


def _probe_matmul() -> tuple[float, float]:
    """Best GFLOP/s of PROBE_SHAPE's matmul in fp32, then under bf16 autocast, on the current threads."""
    batch, pixels, width = PROBE_SHAPE
    generator = torch.Generator().manual_seed(0)  # its own generator: the probe leaves the global seed alone
    x = torch.rand(batch, pixels, generator=generator)  # (N, 784)
    weight = torch.rand(width, pixels, generator=generator)  # (512, 784)

    def fp32() -> torch.Tensor:
        return torch.nn.functional.linear(x, weight)

    def bf16() -> torch.Tensor:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return torch.nn.functional.linear(x, weight)

    flops = 2 * batch * pixels * width
    with torch.inference_mode():
        return flops / best_seconds(fp32) / 1e9, flops / best_seconds(bf16) / 1e9


def resolve(requested: str, device: torch.device, probe: Callable[[], Probe] | None = None) -> tuple[str, dict | None]:
    """The precision to train in and the probe's figures (None when nothing was probed).

    An explicit fp32 or bf16 is used as given; auto is bf16 on CUDA and the probe's choice on a CPU
    (`probe`, default probe_cpu looked up at call time, so a test can replace it).
    """
    if requested != "auto":
        return requested, None
    if device.type == "cuda":
        return "bf16", None
    figures = (probe or probe_cpu)()
    return choose(figures.fp32_gflops, figures.bf16_gflops), asdict(figures)
