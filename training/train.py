"""Train the autoencoder: `train_epoch` and `main`, which runs epochs, checkpoints them and stops cleanly on a signal."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import signal
import sys
import threading
import time

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from latent_common.atomic import write_json
from latent_common.charts import curve_png
from latent_common.errors import UserError
from training.checkpoint import (
    CHECKPOINT,
    CONFIG,
    CURVE,
    METRICS,
    load_checkpoint,
    read_json,
    save_checkpoint,
)
from training.config import TrainConfig, parse_config
from training.data import load_split
from training.evaluate import embed, evaluate, to_tensor
from training.metrics import knn_accuracy
from training.model import Autoencoder, ModelConfig, kl_divergence


class TrainError(UserError):
    """A problem with the run directory or flags that the user can fix."""


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
    rank: int = 0,
    world: int = 1,
) -> float:
    """One pass over shuffled index batches of the in-memory training set; returns the mean loss.

    With several processes, every rank draws the same permutation and takes every world-th index of it,
    in batches of batch_size / world, so the global batch and the number of steps stay the same.
    """
    objective.train()
    # Seeding each epoch's shuffle (and a VAE's noise) from (seed, epoch) makes a resumed run replay the same batches.
    generator = torch.Generator().manual_seed(config.seed * 100_003 + epoch)
    noise = torch.Generator(device=images.device).manual_seed(config.seed * 100_003 + epoch + 1 + 7919 * rank)
    order = torch.randperm(len(images), generator=generator).to(images.device)
    shard = order[rank : len(order) - len(order) % world : world]
    batch_size = max(config.batch_size // world, 1)
    latent_dim = config.latent_dim
    loss_sum, seen = 0.0, 0
    for start in range(0, len(shard), batch_size):
        batch = images[shard[start : start + batch_size]]
        eps = torch.randn((len(batch), latent_dim), generator=noise, device=images.device)
        # Mixed precision on a GPU only: bf16 matmuls ran at ~1 GFLOP/s on this project's AVX2 CPU, 60x slower than fp32.
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=images.device.type == "cuda"):
            loss = objective(batch, eps)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
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
        optimizer, max_lr=config.lr, epochs=config.epochs, steps_per_epoch=steps_per_epoch
    )


def resume_config(config: TrainConfig) -> TrainConfig:
    """A resumed run keeps its saved config (the schedule depends on it); only the device may change."""
    path = config.run_path / CONFIG
    if not (config.run_path / CHECKPOINT).is_file() or not path.is_file():
        raise TrainError(f"{config.run_path}: no {CHECKPOINT} and {CONFIG} to resume from")
    saved = TrainConfig(**read_json(path))
    return dataclasses.replace(saved, device=config.device, data_root=config.data_root, resume=True)


def summarise(history: list[dict], device: torch.device) -> dict:
    return {
        "epochs": history,
        "test_mse": history[-1]["test_mse"] if history else None,
        "train_seconds": round(sum(row["seconds"] for row in history), 3),
        "device": str(device),
        "torch": torch.__version__,
    }


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
    rank, world, device = start_distributed(resolve_device(config.device))
    main_rank = rank == 0  # the one process that evaluates, writes and prints
    torch.set_flush_denormal(True)  # denormals appear as weights shrink; flushing saved 13-17% an epoch here
    if config.resume:
        config = resume_config(config)
    elif (config.run_path / CHECKPOINT).exists() and not config.overwrite:
        raise TrainError(
            f"{config.run_path}: already holds a run; pass --resume to continue it, --overwrite to replace it, or pick another --run-dir"
        )

    train = load_split(config.dataset, config.data_root, "train")
    test = load_split(config.dataset, config.data_root, "test")
    train_images = to_tensor(train.images[: config.train_limit or None], device)
    test_images = to_tensor(test.images, device)

    torch.manual_seed(config.seed)
    model_config = ModelConfig(latent_dim=config.latent_dim, hidden=config.hidden_sizes, kind=config.model)
    model = Autoencoder(model_config).to(device)
    objective = Objective(model, config.beta)
    if world > 1:  # broadcasts rank 0's initial weights, then averages gradients every step
        objective = DistributedDataParallel(objective, device_ids=[device] if device.type == "cuda" else None)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    steps_per_epoch = -(-(len(train_images) // world) // max(config.batch_size // world, 1))
    scheduler = make_scheduler(optimizer, config, steps_per_epoch)
    history: list[dict] = []
    start_epoch = 0
    if config.resume:
        state = load_checkpoint(config.run_path, map_location=str(device))
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None:
            scheduler.load_state_dict(state["scheduler"])
        start_epoch = state["epoch"]
        history = read_json(config.run_path / METRICS)["epochs"][:start_epoch]
        print(f"resuming {config.run_path} after epoch {start_epoch}/{config.epochs}", file=sys.stderr)
    if main_rank:
        write_json(config.run_path / CONFIG, dataclasses.asdict(config) | {"resume": False, "overwrite": False})

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
            train_loss = train_epoch(
                objective,
                train_images,
                optimizer=optimizer,
                scheduler=scheduler,
                config=config,
                epoch=epoch,
                progress=progress,
                rank=rank,
                world=world,
            )
            seconds = time.perf_counter() - started
            if not main_rank:
                continue
            test_mse = evaluate(model, test_images)
            history.append(
                {"epoch": epoch + 1, "train_loss": train_loss, "test_mse": test_mse, "seconds": round(seconds, 3)}
            )
            save_checkpoint(
                config.run_path,
                {
                    "model": model.state_dict(),
                    "model_config": dataclasses.asdict(model_config),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict() if scheduler is not None else {},
                    "epoch": epoch + 1,
                },
            )
            write_json(config.run_path / METRICS, summarise(history, device))
            curve_png(
                history, config.run_path / CURVE, f"{config.model} on {config.dataset}, latent dim {config.latent_dim}"
            )
            check_stop()
            progress.write(
                f"epoch {epoch + 1:>3}/{config.epochs}  train loss {train_loss:.5f}  test MSE {test_mse:.5f}  {seconds:5.1f}s"
            )
    except (KeyboardInterrupt, Interrupted):
        progress.close()
        done = len(history)
        if main_rank:
            print(
                f"\ninterrupted: {done} of {config.epochs} epochs are saved in {config.run_path / CHECKPOINT}; "
                f"continue with: python -m training --run-dir {config.run_path} --data-root {config.data_root} --resume",
                file=sys.stderr,
            )
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
        summarise(history, device) | {"knn_accuracy": knn_accuracy(embed(model, test_images), test.labels)} | extra
    )
    write_json(config.run_path / METRICS, metrics)
    return metrics


def main(argv: list[str] | None = None) -> int:
    config = parse_config(argv)
    try:
        metrics = run(config)
        if not metrics:  # a torchrun worker other than rank 0: rank 0 reports
            return 0
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, Interrupted):
        return 130
    print(
        f"done: test MSE {metrics['test_mse']:.5f}, latent k-NN accuracy {metrics['knn_accuracy']:.3f}, after {metrics['train_seconds']:.1f}s of training; run in {config.run_path}"
    )
    print(f"next: python -m export {config.run_path} --out models/NAME")
    return 0
