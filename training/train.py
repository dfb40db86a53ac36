"""Train the autoencoder: `train_epoch` and `main`, which runs epochs, checkpoints them and stops cleanly on a signal.

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
import shlex
import signal
import sys
import threading
import time

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from latent_common.atomic import WriteError, check_writable, write_json
from latent_common.charts import curve_png
from latent_common.errors import UserError, reason
from training.average import WeightAverage
from training.checkpoint import (
    CHECKPOINT,
    CONFIG,
    CURVE,
    METRICS,
    load_checkpoint,
    read_json,
    save_checkpoint,
)
from training.config import TrainConfig, parse_config, validate
from training.data import DataOptions, load_split
from training.evaluate import embed, evaluate, to_tensor
from training.metrics import check_knn_points, knn_accuracy
from training.model import Autoencoder, ModelConfig, kl_divergence
from training.precision import resolve as resolve_precision

# Denormals appear as weights and Adam's moments shrink, and each one costs a CPU core a microcode assist.
# Flushing them is a per-thread CPU flag that a thread copies from its creator, so it is set here, on import,
# before any computation starts the intra-op thread pool: set later, only the main thread flushes and the
# workers slow down epoch by epoch (measured: 1.4 s epochs creeping to 3.2 s, and 2.1 s to 3.3 s for the seed
# setup in benchmarks/torch_side.py, which imports this module before it computes anything).
torch.set_flush_denormal(True)


class TrainError(UserError):
    """A problem with the run directory or flags that the user can fix."""


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
) -> float:
    """One pass over shuffled index batches of the in-memory training set; returns the mean loss.

    `average`, when given, moves towards the weights after every step.

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


# What a run saved before these flags existed trained with: torch's OneCycleLR pct_start, Adam's own beta2,
# and no weight average. A resumed older run keeps them, so it ends as it would have uninterrupted.
LEGACY_RECIPE = {"warmup": 0.3, "adam_beta2": 0.999, "ema": 0.0}


def resume_config(config: TrainConfig, state: dict) -> TrainConfig:
    """A resumed run keeps the config saved with its checkpoint (the schedule depends on it); the run
    directory, data root and device are the ones on this command line (a copied run writes where it is now),
    and so is the precision when it names one (auto keeps the run's own: resumed equals uninterrupted)."""
    saved = state.get("train_config")
    if not isinstance(saved, dict):  # a checkpoint from before the config travelled inside it
        path = config.run_path / CONFIG
        if not path.is_file():
            raise TrainError(f"{config.run_path}: no {CONFIG} beside {CHECKPOINT} to resume from")
        saved = read_json(path)
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    saved = LEGACY_RECIPE | saved
    try:
        restored = TrainConfig(**{key: value for key, value in saved.items() if key in known})
    except TypeError as exc:
        raise TrainError(f"{config.run_path}: its saved training config is incomplete ({exc})") from None
    resumed = dataclasses.replace(
        restored,
        run_dir=config.run_dir,
        data_root=config.data_root,
        device=config.device,
        precision=restored.precision if config.precision == "auto" else config.precision,
        resume=True,
        overwrite=False,
    )
    return validate(resumed)


def resume_command(config: TrainConfig) -> str:
    return (
        f"python -m training --run-dir {shlex.quote(config.run_dir)} "
        f"--data-root {shlex.quote(config.data_root)} --resume"
    )


def on_disk(config: TrainConfig, saved: int, earlier_run: bool) -> str:
    """What the run directory holds now, in words, and what to do next."""
    checkpoint = config.run_path / CHECKPOINT
    if saved:
        return f"{saved} of {config.epochs} epochs are saved in {checkpoint}"
    if earlier_run:
        return (
            "no epoch of this run finished, so nothing of it was saved; "
            f"{config.run_path} still holds the earlier run, unchanged"
        )
    return "no epoch finished, so nothing was saved; start again with the same command"


def summarise(history: list[dict], device: torch.device, arithmetic: dict) -> dict:
    return {
        "epochs": history,
        "test_mse": history[-1]["test_mse"] if history else None,
        "train_seconds": round(sum(row["seconds"] for row in history), 3),
        "device": str(device),
        "precision": arithmetic,
        "torch": torch.__version__,
    }


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


def _run(config: TrainConfig) -> dict:
    validate(config)
    rank, world, device = start_distributed(resolve_device(config.device))
    main_rank = rank == 0  # the one process that evaluates, writes and prints
    state = None
    if config.run_path.exists() and not config.run_path.is_dir():
        raise TrainError(f"{config.run_path}: is a file, not a run directory; pick another --run-dir")
    earlier_run = (config.run_path / CHECKPOINT).exists()
    if config.resume:
        if not earlier_run:
            raise TrainError(f"{config.run_path}: no {CHECKPOINT} to resume from (no epoch of a run there finished)")
        state = load_checkpoint(config.run_path, map_location=str(device))
        config = resume_config(config, state)
    elif earlier_run and not config.overwrite:
        raise TrainError(
            f"{config.run_path}: already holds a run; pass --resume to continue it, "
            "--overwrite to replace it, or pick another --run-dir"
        )
    if config.batch_size < world:
        raise TrainError(f"--batch-size {config.batch_size}: must be at least the number of processes ({world})")
    try:  # before any data is read: a read-only --run-dir would otherwise fail only after the first epoch
        check_writable(config.run_path)
    except WriteError as exc:
        raise TrainError(f"{exc}; pick another --run-dir") from None

    options = DataOptions.from_config(config)  # export reads them back from config.json: the same split
    train = load_split(config.dataset, config.data_root, "train", options=options)
    test = load_split(config.dataset, config.data_root, "test", options=options)
    train_images = to_tensor(train.images[: config.train_limit or None], device)
    test_images = to_tensor(test.images, device)
    if len(train_images) < world:
        raise TrainError(
            f"--dataset {config.dataset}: the training split has {len(train_images)} images; nothing to train on"
        )
    check_knn_points(len(test_images), f"--dataset {config.dataset}")  # before training, not after it
    if config.model == "pca":  # closed form: no epochs, optimiser or schedule
        from training import pca

        return pca.run(config, train_images, test_images, test.labels, device) if main_rank else {}

    config, arithmetic = pick_precision(config, device, world)  # before the seed: the probe draws no numbers from it
    torch.manual_seed(config.seed)
    image_shape = tuple(train.images.shape[1:])  # (C, H, W)
    model_config = ModelConfig(
        latent_dim=config.latent_dim, hidden=config.hidden_sizes, image_shape=image_shape, kind=config.model
    )
    model = Autoencoder(model_config).to(device)
    objective = Objective(model, config.beta)
    if world > 1:  # broadcasts rank 0's initial weights, then averages gradients every step
        objective = DistributedDataParallel(objective, device_ids=[device] if device.type == "cuda" else None)
    # fused: one kernel for all of Adam's arithmetic; 0.9 ms a step against foreach's 3 ms here (about a
    # sixth of a bf16 step at batch 256). Its state dict is Adam's, so older checkpoints still resume.
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, betas=(0.9, config.adam_beta2), fused=True)
    average = WeightAverage(model, config.ema) if config.ema else None
    evaluated = average.module if average is not None else model  # what is tested, checkpointed and exported
    steps_per_epoch = -(-(len(train_images) // world) // (config.batch_size // world))
    scheduler = make_scheduler(optimizer, config, steps_per_epoch)
    history: list[dict] = []
    start_epoch = 0
    if state is not None:
        try:
            if average is not None:  # "model" is the average; the weights the steps move are beside it
                average.module.load_state_dict(state["model"])
                average.updates = state["epoch"] * steps_per_epoch
            model.load_state_dict(state["train_model"] if average is not None else state["model"])
            optimizer.load_state_dict(state["optimizer"])
            if scheduler is not None:
                scheduler.load_state_dict(state["scheduler"])
        except (KeyError, RuntimeError, ValueError) as exc:
            raise TrainError(
                f"{config.run_path / CHECKPOINT}: doesn't match its saved config ({reason(exc)})"
            ) from None
        start_epoch = state["epoch"]
        history = state.get("history") or read_json(config.run_path / METRICS)["epochs"][:start_epoch]
        print(f"resuming {config.run_path} after epoch {start_epoch}/{config.epochs}", file=sys.stderr)
    saved = start_epoch  # epochs of this run in the checkpoint on disk

    STOP.clear()
    previous = {sig: signal.signal(sig, _request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    progress = tqdm(
        total=steps_per_epoch, unit="batch", leave=False, mininterval=0.25, file=sys.stderr, disable=not main_rank
    )
    try:
        for epoch in range(start_epoch, config.epochs):
            progress.reset()
            progress.set_description(f"epoch {epoch + 1}/{config.epochs}")
            started = time.perf_counter()
            try:
                train_loss = train_epoch(
                    objective,
                    train_images,
                    optimizer=optimizer,
                    scheduler=scheduler,
                    config=config,
                    epoch=epoch,
                    progress=progress,
                    average=average,
                    rank=rank,
                    world=world,
                )
            except NonFinite as exc:
                raise diverged(
                    config, epoch, f"batch {exc.batch}: the loss became {exc.loss}", saved, earlier_run
                ) from None
            seconds = time.perf_counter() - started
            if not main_rank:
                continue
            test_mse = evaluate(evaluated, test_images)
            if not (math.isfinite(train_loss) and math.isfinite(test_mse) and finite_weights(evaluated)):
                raise diverged(config, epoch, f"the test MSE became {test_mse}", saved, earlier_run)
            history.append(
                {"epoch": epoch + 1, "train_loss": train_loss, "test_mse": test_mse, "seconds": round(seconds, 3)}
            )
            save_checkpoint(
                config.run_path,
                {
                    "model": evaluated.state_dict(),
                    **({"train_model": model.state_dict()} if average is not None else {}),
                    "model_config": dataclasses.asdict(model_config),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict() if scheduler is not None else {},
                    "epoch": epoch + 1,
                    "train_config": saved_config(config),
                    "history": history,
                },
            )
            saved = epoch + 1
            # After the checkpoint, never before: a config.json beside an older checkpoint would not resume.
            write_json(config.run_path / CONFIG, saved_config(config))
            write_json(config.run_path / METRICS, summarise(history, device, arithmetic))
            curve_png(
                history, config.run_path / CURVE, f"{config.model} on {config.dataset}, latent dim {config.latent_dim}"
            )
            check_stop()
            progress.write(
                f"epoch {epoch + 1:>3}/{config.epochs}  train loss {train_loss:.5f}  "
                f"test MSE {test_mse:.5f}  {seconds:5.1f}s"
            )
    except (KeyboardInterrupt, Interrupted):
        progress.close()
        if main_rank:
            advice = f"; continue with: {resume_command(config)}" if saved else ""
            print(f"\ninterrupted: {on_disk(config, saved, earlier_run)}{advice}", file=sys.stderr)
        raise
    finally:
        progress.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    extra = {}
    if world > 1:  # DDP keeps replicas identical; check it rather than assume it
        digests = [None] * world
        dist.all_gather_object(digests, weights_digest(model))
        extra["distributed"] = {
            "world_size": world,
            "backend": dist.get_backend(),
            "weights_identical": len(set(digests)) == 1,
        }
    if not main_rank:
        return {}
    # Once, at the end: a leave-one-out k-NN over 10,000 test latents takes a few seconds.
    metrics = (
        summarise(history, device, arithmetic)
        | {"knn_accuracy": knn_accuracy(embed(evaluated, test_images), test.labels)}
        | extra
    )
    write_json(config.run_path / METRICS, metrics)
    return metrics


def saved_config(config: TrainConfig) -> dict:
    return dataclasses.asdict(config) | {"resume": False, "overwrite": False}


def finite_weights(model: nn.Module) -> bool:
    return bool(torch.stack([torch.isfinite(p).all() for p in model.parameters()]).all())


def diverged(config: TrainConfig, epoch: int, what: str, saved: int, earlier_run: bool) -> TrainError:
    """The error for a run whose loss became NaN or Inf: where, and what the run directory still holds."""
    return TrainError(
        f"training diverged in epoch {epoch + 1}, {what}; stopped without saving it: "
        f"{on_disk(config, saved, earlier_run)}; try a lower --lr than {config.lr:g}"
    )


def main(argv: list[str] | None = None) -> int:
    try:
        config = parse_config(argv)
        metrics = run(config)
        if not metrics:  # a torchrun worker other than rank 0: rank 0 reports
            return 0
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, Interrupted):
        return 130
    print(
        f"done: test MSE {metrics['test_mse']:.5f}, latent k-NN accuracy {metrics['knn_accuracy']:.3f}, "
        f"after {metrics['train_seconds']:.1f}s of training; run in {config.run_path}"
    )
    print(f"next: python -m export {config.run_path} --out models/NAME")
    return 0
