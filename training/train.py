"""Train the autoencoder: `train_epoch` and `main`, which runs epochs, checkpoints them and stops cleanly on a signal.

`_run` is the spine: set-up (the run directory, the data, the model and its optimiser, a resumed run's state),
the epoch loop (train, test, save each epoch), and finish (the k-NN accuracy and metrics.json).

What is on disk is always one consistent run: the checkpoint carries its own training config and
history (nanoGPT's self-describing checkpoint), and config.json and metrics.json are written only after
it, so a run stopped at any moment (a signal, a full disk, a diverging loss) resumes from what is there,
and every message says what really is there.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from latent_common.atomic import write_json
from latent_common.charts import curve_png
from latent_common.cli import INTERRUPTED_STATUS, command
from latent_common.data import DataOptions, load_split
from latent_common.errors import reason
from training import pca
from training.average import WeightAverage
from training.checkpoint import CHECKPOINT, CONFIG, CURVE, METRICS, read_json, save_checkpoint
from training.config import TrainConfig, parse_config, validate
from training.download import torchvision_fetch
from training.evaluate import embed, evaluate, measure, to_tensor
from training.metrics import check_knn_points, knn_accuracy
from training.model import Autoencoder, ModelConfig, kl_divergence
from training.precision import resolve as resolve_precision
from training.run_dir import (
    TrainError,
    check_run_dir_writable,
    on_disk,
    open_run_dir,
    resume_command,
    saved_config,
    summarise,
)
from training.snapshots import SnapshotWriter

# Denormals appear as weights and Adam's moments shrink, and each one costs a CPU core a microcode assist.
# Flushing them is a per-thread CPU flag that a thread copies from its creator, so it is set here, on import,
# before any computation starts the intra-op thread pool: set later, only the main thread flushes and the
# workers slow down epoch by epoch (measured: 1.4 s epochs creeping to 3.2 s, and 2.1 s to 3.3 s for the seed
# setup in benchmarks/torch_side.py, which imports this module before it computes anything).
torch.set_flush_denormal(True)


class NonFinite(Exception):
    """The loss or the gradients became NaN or Inf: the run diverged (raised before the step that would
    write NaN into the weights)."""

    def __init__(self, batch: int, loss: float):
        super().__init__(f"batch {batch}, loss {loss}")
        self.batch, self.loss = batch, loss


def finite_step(loss: torch.Tensor, parameters) -> bool:
    """Whether the loss and every gradient are finite. Under DistributedDataParallel the gradients are
    already averaged over all processes, so every rank reaches the same answer at the same batch."""
    # One fused norm over every gradient instead of an isfinite pass per tensor (that was ~20% of an epoch):
    # NaN or Inf anywhere makes the sum non-finite (so would a norm past ~1e19, which is divergence anyway).
    grads = [p.grad for p in parameters if p.grad is not None]
    total = loss.detach().float().sum()
    if grads:
        total = total + torch.stack(torch._foreach_norm(grads)).float().sum()
    return bool(torch.isfinite(total))


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise TrainError("--device cuda: no CUDA device is available to torch here; use --device cpu")
    return torch.device(name)


class Objective(nn.Module):
    """The training loss as a module, so DistributedDataParallel sees every forward pass and syncs gradients.

    Per-pixel MSE; a VAE adds beta times its KL term, divided by the pixel count so beta doesn't depend on
    the image size (Kingma & Welling, 2014, arXiv:1312.6114).
    """

    def __init__(self, model: Autoencoder, beta: float):
        super().__init__()
        self.model, self.beta = model, beta

    def forward(self, batch: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        mean, logvar = self.model.encode(batch)
        if logvar is None:
            return nn.functional.mse_loss(self.model.decoder(mean), batch)
        z = mean + eps * torch.exp(0.5 * logvar)  # (N, D), the reparameterisation trick
        kl = kl_divergence(mean, logvar).mean() / batch[0].numel()
        return nn.functional.mse_loss(self.model.decoder(z), batch) + self.beta * kl


def train_epoch(
    objective,
    images,
    *,
    optimizer,
    scheduler,
    config: TrainConfig,
    epoch: int,
    progress: tqdm,
    average: WeightAverage | None = None,
    rank: int = 0,
    world: int = 1,
    on_step: Callable[[int], None] | None = None,
) -> float:
    """One pass over shuffled index batches of the in-memory training set; returns the mean loss.

    `average`, when given, moves towards the weights after every step; `on_step(n)` is called after the
    epoch's n-th step (the snapshots: training/snapshots.py).

    With several processes, every rank draws the same permutation and takes every world-th index of it,
    in batches of batch_size / world, so the global batch and the number of steps stay the same.
    """
    objective.train()
    # Seeding each epoch's shuffle (and a VAE's noise) from (seed, epoch) makes a resumed run replay the same batches.
    generator = torch.Generator().manual_seed(config.seed * 100_003 + epoch)
    noise = torch.Generator(device=images.device).manual_seed(config.seed * 100_003 + epoch + 1 + 7919 * rank)
    order = torch.randperm(len(images), generator=generator).to(images.device)
    shard = order[rank : len(order) - len(order) % world : world]
    batch_size = config.batch_size // world  # at least 1: run() refuses a batch smaller than the world
    latent_dim = config.latent_dim
    loss_sum, seen = 0.0, 0
    for start in range(0, len(shard), batch_size):
        batch = images[shard[start : start + batch_size]]
        eps = torch.randn((len(batch), latent_dim), generator=noise, device=images.device)
        # config.precision is resolved by now (never auto): bf16 where _run's probe found it fast, or asked for.
        with torch.autocast(images.device.type, dtype=torch.bfloat16, enabled=config.precision == "bf16"):
            loss = objective(batch, eps)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if not finite_step(loss, objective.parameters()):
            raise NonFinite(start // batch_size + 1, loss.item())
        optimizer.step()
        if average is not None:
            average.update()
        if scheduler is not None:
            scheduler.step()
        loss_sum += loss.item() * len(batch)
        seen += len(batch)
        progress.update(1)
        progress.set_postfix(loss=f"{loss_sum / seen:.4f}", refresh=False)
        if on_step is not None:
            on_step(start // batch_size + 1)
        check_stop()
    if world > 1:
        totals = torch.tensor([loss_sum, float(seen)], dtype=torch.float64)
        dist.all_reduce(totals)
        loss_sum, seen = totals.tolist()
    return loss_sum / seen


def make_scheduler(optimizer, config: TrainConfig, steps_per_epoch: int):
    if config.schedule == "constant":
        return None
    return torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.lr, epochs=config.epochs, steps_per_epoch=steps_per_epoch, pct_start=config.warmup
    )


def pick_precision(config: TrainConfig, device: torch.device, world: int) -> tuple[TrainConfig, dict]:
    """Resolve --precision auto (a probe on a CPU) and return the config with the precision it trains in,
    and what metrics.json records about it: used, requested, and the probe's figures when there was one.

    With several processes, rank 0's choice is every rank's: probes on a shared machine can disagree.
    """
    used, probe = resolve_precision(config.precision, device)
    if world > 1:
        choice = [used, probe]
        dist.broadcast_object_list(choice, src=0)
        used, probe = choice
    return dataclasses.replace(config, precision=used), {"used": used, "requested": config.precision, "probe": probe}


class Interrupted(BaseException):
    """Ctrl-C or SIGTERM, raised like KeyboardInterrupt: a BaseException, so no `except Exception` swallows it."""


STOP = threading.Event()


def _request_stop(signum, frame):
    # Only set a flag: an exception raised from a signal handler can land inside C code that clears it
    # (seen once in CI: a SIGTERM during the first epoch's chart drawing was lost). The loop checks the
    # flag after every batch and raises Interrupted from there.
    STOP.set()


def check_stop() -> None:
    if STOP.is_set():
        raise Interrupted


def start_distributed(device: torch.device) -> tuple[int, int, torch.device]:
    """Join the process group when launched by torchrun (gloo on CPU, NCCL on GPU); else a world of one."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1, device
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return dist.get_rank(), world, device


def weights_digest(model: nn.Module) -> str:
    digest = hashlib.sha256()
    for tensor in model.state_dict().values():
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def run(config: TrainConfig) -> dict:
    try:
        return _run(config)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


@dataclass
class Processes:
    """Where this process trains: its rank among world processes (torchrun), and its device."""

    rank: int
    world: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0  # the one process that evaluates, writes and prints


@dataclass
class Data:
    """The splits as tensors on the device: images (N, C, H, W) in [0, 1]; the test labels for the k-NN."""

    train: torch.Tensor
    test: torch.Tensor
    test_labels: np.ndarray
    test_images: np.ndarray  # (M, C, H, W) uint8, as stored: the snapshots' test.npz
    class_names: list[str]


@dataclass
class Run:
    """Everything the epoch loop moves forward, and what a message says about the run directory."""

    config: TrainConfig
    model: Autoencoder
    model_config: ModelConfig
    objective: nn.Module  # the loss around the model; wrapped in DistributedDataParallel with several processes
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler | None
    average: WeightAverage | None
    steps_per_epoch: int
    arithmetic: dict  # metrics.json's "precision": used, requested, the probe's figures
    earlier_run: bool  # the run directory held a checkpoint when this run started
    history: list[dict] = field(default_factory=list)
    saved: int = 0  # epochs of this run in the checkpoint on disk
    snapshots: SnapshotWriter | None = None  # the main process's, unless --no-snapshots
    snapshots_id: str | None = None  # the resumed checkpoint's: whose snapshots its run directory holds

    @property
    def evaluated(self) -> nn.Module:
        """What is tested, checkpointed and exported: the weight average when there is one."""
        return self.average.module if self.average is not None else self.model


def _run(config: TrainConfig) -> dict:
    validate(config)
    procs = Processes(*start_distributed(resolve_device(config.device)))
    config, state, earlier_run = open_run_dir(config, procs.device)
    if config.batch_size < procs.world:
        raise TrainError(f"--batch-size {config.batch_size}: must be at least the number of processes ({procs.world})")
    check_run_dir_writable(config)
    data = load_data(config, procs)
    if config.model == "pca":  # closed form: no epochs, optimiser or schedule
        return pca.run(config, data.train, data.test, data.test_labels, procs.device) if procs.main else {}
    config, arithmetic = pick_precision(config, procs.device, procs.world)  # before the seed: the probe draws none
    torch.manual_seed(config.seed)
    run = build(config, data, procs, arithmetic, earlier_run)
    if state is not None:
        resume_from(run, state)
    if procs.main and not config.no_snapshots:
        start_snapshots(run, data)
    train_epochs(run, data, procs)
    return finish(run, data, procs)


# Set-up


def load_data(config: TrainConfig, procs: Processes) -> Data:
    options = DataOptions.from_config(config)  # export reads them back from config.json: the same split
    train = load_split(config.dataset, config.data_root, "train", torchvision_fetch, options)
    test = load_split(config.dataset, config.data_root, "test", torchvision_fetch, options)
    data = Data(
        train=to_tensor(train.images[: config.train_limit or None], procs.device),
        test=to_tensor(test.images, procs.device),
        test_labels=test.labels,
        test_images=test.images,
        class_names=test.class_names or [str(i) for i in range(int(test.labels.max()) + 1)],
    )
    if len(data.train) < procs.world:
        raise TrainError(
            f"--dataset {config.dataset}: the training split has {len(data.train)} images; nothing to train on"
        )
    check_knn_points(len(data.test), f"--dataset {config.dataset}")  # before training, not after it
    return data


def build(config: TrainConfig, data: Data, procs: Processes, arithmetic: dict, earlier_run: bool) -> Run:
    """The model, its loss, optimiser, schedule and weight average, freshly initialised from config.seed."""
    model_config = ModelConfig(
        latent_dim=config.latent_dim,
        hidden=config.hidden_sizes,
        image_shape=tuple(data.train.shape[1:]),
        kind=config.model,
    )
    model = Autoencoder(model_config).to(procs.device)
    objective = Objective(model, config.beta)
    if procs.world > 1:  # broadcasts rank 0's initial weights, then averages gradients every step
        devices = [procs.device] if procs.device.type == "cuda" else None
        objective = DistributedDataParallel(objective, device_ids=devices)
    # fused: one kernel for all of Adam's arithmetic; 0.9 ms a step against foreach's 3 ms here (about a
    # sixth of a bf16 step at batch 256). Its state dict is Adam's, so older checkpoints still resume.
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, betas=(0.9, config.adam_beta2), fused=True)
    steps_per_epoch = -(-(len(data.train) // procs.world) // (config.batch_size // procs.world))
    return Run(
        config=config,
        model=model,
        model_config=model_config,
        objective=objective,
        optimizer=optimizer,
        scheduler=make_scheduler(optimizer, config, steps_per_epoch),
        average=WeightAverage(model, config.ema) if config.ema else None,
        steps_per_epoch=steps_per_epoch,
        arithmetic=arithmetic,
        earlier_run=earlier_run,
    )


def resume_from(run: Run, state: dict) -> None:
    """Load a checkpoint's weights, optimiser, schedule and history into a freshly built run."""
    try:
        if run.average is not None:  # "model" is the average; the weights the steps move are beside it
            run.average.module.load_state_dict(state["model"])
            run.average.updates = state["epoch"] * run.steps_per_epoch
        run.model.load_state_dict(state["train_model"] if run.average is not None else state["model"])
        run.optimizer.load_state_dict(state["optimizer"])
        if run.scheduler is not None:
            run.scheduler.load_state_dict(state["scheduler"])
    except (KeyError, RuntimeError, ValueError) as exc:
        raise TrainError(
            f"{run.config.run_path / CHECKPOINT}: doesn't match its saved config ({reason(exc)})"
        ) from None
    run.saved = state["epoch"]
    run.snapshots_id = state.get("snapshots_id")
    run.history = state.get("history") or read_json(run.config.run_path / METRICS)["epochs"][: run.saved]
    print(f"resuming {run.config.run_path} after epoch {run.saved}/{run.config.epochs}", file=sys.stderr)


def start_snapshots(run: Run, data: Data) -> None:
    """The snapshot writer, and the untrained model's snapshot when the run starts afresh."""
    config = run.config
    about = {
        "kind": config.model,
        "dataset": config.dataset,
        "latent_dim": config.latent_dim,
        "image_shape": list(data.test.shape[1:]),
        "class_names": data.class_names,
    }
    resumed = (run.saved * run.steps_per_epoch, run.snapshots_id) if run.saved else None
    run.snapshots = SnapshotWriter.start(config.run_path, run.steps_per_epoch, config.epochs, resumed, about)
    run.snapshots.write_test(data.test_images, data.test_labels)
    if run.snapshots.due(0):
        run.snapshots.take(run.evaluated, data.test, 0)


def snapshot_hook(run: Run, data: Data, epoch: int) -> Callable[[int], None] | None:
    """on_step for train_epoch: a snapshot when one is due mid-epoch (an epoch's end is taken after its test)."""
    if run.snapshots is None:
        return None
    writer, first = run.snapshots, epoch * run.steps_per_epoch

    def on_step(done: int) -> None:
        if done < run.steps_per_epoch and writer.due(first + done):
            writer.take(run.evaluated, data.test, first + done)

    return on_step


# The epoch loop


def train_epochs(run: Run, data: Data, procs: Processes) -> None:
    """Every epoch not yet saved, each checkpointed as it ends; Ctrl-C or SIGTERM stops after the batch in
    hand, saying what the run directory holds and how to continue."""
    STOP.clear()
    previous = {sig: signal.signal(sig, _request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    progress = tqdm(
        total=run.steps_per_epoch, unit="batch", leave=False, mininterval=0.25, file=sys.stderr, disable=not procs.main
    )
    try:
        for epoch in range(run.saved, run.config.epochs):
            run_epoch(run, data, procs, epoch, progress)
    except (KeyboardInterrupt, Interrupted) as exc:
        progress.close()
        if procs.main:
            advice = f"; continue with: {resume_command(run.config)}" if run.saved else ""
            print(f"\ninterrupted: {on_disk(run.config, run.saved, run.earlier_run)}{advice}", file=sys.stderr)
        exc.reported = True  # said: main's handler adds nothing
        raise
    finally:
        progress.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_epoch(run: Run, data: Data, procs: Processes, epoch: int, progress: tqdm) -> None:
    """Train one epoch; on the main process, test it, then save it (a diverged epoch is never saved)."""
    config = run.config
    progress.reset()
    progress.set_description(f"epoch {epoch + 1}/{config.epochs}")
    started = time.perf_counter()
    try:
        train_loss = train_epoch(
            run.objective,
            data.train,
            optimizer=run.optimizer,
            scheduler=run.scheduler,
            config=config,
            epoch=epoch,
            progress=progress,
            average=run.average,
            rank=procs.rank,
            world=procs.world,
            on_step=snapshot_hook(run, data, epoch),
        )
    except NonFinite as exc:
        raise diverged(run, epoch, f"batch {exc.batch}: the loss became {exc.loss}") from None
    seconds = time.perf_counter() - started
    if not procs.main:
        return
    end = (epoch + 1) * run.steps_per_epoch
    if run.snapshots is not None and run.snapshots.due(end):  # one pass gives the test MSE and the latents
        measured = measure(run.evaluated, data.test)
        test_mse = measured[1]
    else:
        measured, test_mse = None, evaluate(run.evaluated, data.test)
    if not (math.isfinite(train_loss) and math.isfinite(test_mse) and finite_weights(run.evaluated)):
        raise diverged(run, epoch, f"the test MSE became {test_mse}")
    run.history.append(
        {"epoch": epoch + 1, "train_loss": train_loss, "test_mse": test_mse, "seconds": round(seconds, 3)}
    )
    save_epoch(run, epoch, procs.device)
    if measured is not None:
        run.snapshots.take(run.evaluated, data.test, end, measured)
    check_stop()
    progress.write(
        f"epoch {epoch + 1:>3}/{config.epochs}  train loss {train_loss:.5f}  test MSE {test_mse:.5f}  {seconds:5.1f}s"
    )


def save_epoch(run: Run, epoch: int, device: torch.device) -> None:
    """The checkpoint first; config.json, metrics.json and the curve after it, never before: a config.json
    beside an older checkpoint would not resume."""
    config = run.config
    save_checkpoint(
        config.run_path,
        {
            "model": run.evaluated.state_dict(),
            **({"train_model": run.model.state_dict()} if run.average is not None else {}),
            "model_config": dataclasses.asdict(run.model_config),
            "optimizer": run.optimizer.state_dict(),
            "scheduler": run.scheduler.state_dict() if run.scheduler is not None else {},
            "epoch": epoch + 1,
            "train_config": saved_config(config),
            "history": run.history,
            **({"snapshots_id": run.snapshots.index["run_id"]} if run.snapshots is not None else {}),
        },
    )
    run.saved = epoch + 1
    write_json(config.run_path / CONFIG, saved_config(config))
    write_json(config.run_path / METRICS, summarise(run.history, device, run.arithmetic))
    curve_png(
        run.history, config.run_path / CURVE, f"{config.model} on {config.dataset}, latent dim {config.latent_dim}"
    )


# Finish


def finish(run: Run, data: Data, procs: Processes) -> dict:
    """metrics.json, complete: the epochs, the latent k-NN accuracy, and (DDP) whether the replicas agree."""
    extra = {"distributed": replicas_agree(run.model, procs)} if procs.world > 1 else {}
    if not procs.main:
        return {}
    # Once, at the end: a leave-one-out k-NN over 10,000 test latents takes a few seconds.
    knn = knn_accuracy(embed(run.evaluated, data.test), data.test_labels)
    metrics = summarise(run.history, procs.device, run.arithmetic) | {"knn_accuracy": knn} | extra
    if run.snapshots is not None:  # their cost, within train_seconds: the epochs' time includes them
        taken = len(run.snapshots.index["snapshots"])
        metrics["snapshots"] = {"count": taken, "seconds": round(run.snapshots.seconds, 3)}
    write_json(run.config.run_path / METRICS, metrics)
    return metrics


def replicas_agree(model: nn.Module, procs: Processes) -> dict:
    """DDP keeps replicas identical; check it rather than assume it (every rank takes part)."""
    digests = [None] * procs.world
    dist.all_gather_object(digests, weights_digest(model))
    return {"world_size": procs.world, "backend": dist.get_backend(), "weights_identical": len(set(digests)) == 1}


def finite_weights(model: nn.Module) -> bool:
    return bool(torch.stack([torch.isfinite(p).all() for p in model.parameters()]).all())


def diverged(run: Run, epoch: int, what: str) -> TrainError:
    """The error for a run whose loss became NaN or Inf: where, and what the run directory still holds."""
    return TrainError(
        f"training diverged in epoch {epoch + 1}, {what}; stopped without saving it: "
        f"{on_disk(run.config, run.saved, run.earlier_run)}; try a lower --lr than {run.config.lr:g}"
    )


def main(argv: list[str] | None = None) -> int:
    return command(lambda: train_command(argv), "before training began; the run directory is as it was")


def train_command(argv: list[str] | None) -> int:
    config = parse_config(argv)
    try:
        metrics = run(config)
    except (KeyboardInterrupt, Interrupted) as exc:
        if getattr(exc, "reported", False):  # train_epochs said what is saved and how to resume
            return INTERRUPTED_STATUS
        raise  # before the first epoch began: command's line
    if not metrics:  # a torchrun worker other than rank 0: rank 0 reports
        return 0
    print(
        f"done: test MSE {metrics['test_mse']:.5f}, latent k-NN accuracy {metrics['knn_accuracy']:.3f}, "
        f"after {metrics['train_seconds']:.1f}s of training; run in {config.run_path}"
    )
    print(f"next: python -m export {config.run_path} --out models/NAME")
    return 0
