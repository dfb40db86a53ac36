"""The viewer's map as a library, without a window and without torch: where each image sits, and what is
decoded anywhere on it.

    from viewer.api import open_bundle
    b = open_bundle("models/mnist-ae-8d")   # a bundle folder, or a shipped bundle's name
    b.map_xy                                # (M, 2): where each test image sits in the window
    b.place(images)                         # uint8 [N, C, H, W] or [N, H, W] -> (N, 2), as --encode places them
    b.decode_at(xy)                         # (N, 2) -> float32 [N, C, H, W] in [0, 1], as hovering there shows
    for snap in b.timeline:                 # the latent space as it formed in training (an empty tuple without)
        snap.step, snap.epoch, snap.test_mse, snap.map_xy, snap.decode_at(xy)   # the last is b itself

The window's plot is the bundle's map when it has one (python -m export.map), else the latent space itself
(D <= 2) or the PCA plane through the embedding's mean (D > 2): mapping.projection_for decides, for both.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from latent_common.errors import UserError
from latent_common.images import to_model_input
from viewer.bundle import DECODER, ENCODER, Bundle, load_bundle
from viewer.bundle.timeline import Timeline, read_timeline
from viewer.catalog import find, missing
from viewer.explore import Plane
from viewer.inference import CPU, OnnxModel
from viewer.mapping import MapProjection, projection_for

BATCH = 1024  # images through a graph at a time: bounds the memory of a large call


class InputError(UserError):
    """An array handed to the API that it can't take (its shape, dtype or values); the message says which."""


class OpenedBundle:
    """A bundle with its encoder, decoder and plot (map or plane), ready to place images and decode map points."""

    def __init__(self, bundle: Bundle, strict: bool = False):
        self.bundle = bundle
        self.projection: MapProjection | Plane = projection_for(bundle, strict)
        shape = bundle.image_shape
        self.encoder = OnnxModel(bundle.path / ENCODER, "encoder", bundle.latent_dim, shape, [CPU])
        self.decoder = OnnxModel(bundle.path / DECODER, "decoder", bundle.latent_dim, shape, [CPU])
        self.map_xy = self.projection.project(bundle.z)  # (M, 2) float64, in embedding.npz's order
        found = read_timeline(bundle, strict)
        self.timeline: tuple[Snapshot, ...] = (
            tuple(Snapshot(self, found, i) for i in range(len(found))) if found is not None else ()
        )

    @property
    def has_map(self) -> bool:
        """Whether the plot is a stored map (export.map), not the latent space or its PCA plane."""
        return isinstance(self.projection, MapProjection)

    def encode(self, images: np.ndarray) -> np.ndarray:
        """uint8 images [N, C, H, W] or grey [N, H, W] -> (N, D) float32 latents, prepared as the viewer
        prepares a picture file: any other size or channel count is converted the way training's were."""
        pixels = self._model_input(images)  # (N, C, H, W) float32 in [0, 1]
        return np.concatenate([self.encoder(pixels[i : i + BATCH]) for i in range(0, len(pixels), BATCH)])

    def place(self, images: np.ndarray) -> np.ndarray:
        """uint8 images [N, C, H, W] or grey [N, H, W] -> (N, 2): where the window marks each one when it is
        encoded (--encode, or a dropped file): on a map, the dot of the nearest test latent."""
        return self.projection.project(self.encode(images))

    def decode_at(self, xy: np.ndarray) -> np.ndarray:
        """(N, 2) plot points -> float32 [N, C, H, W] in [0, 1]: what the window decodes with the cursor there
        (at a map's dot, that image's reconstruction)."""
        xy = plot_points(xy)
        latents = self.projection.lift(xy, np.zeros(self.projection.extra_dims))  # (N, D)
        return decode(self.decoder, latents, self.bundle.chw)

    def _model_input(self, images: np.ndarray) -> np.ndarray:
        """uint8 [N, C, H, W] (C 1, 3 or 4) or [N, H, W] -> the encoder's input, float32 (N, C, H, W) in [0, 1]."""
        images = np.asarray(images)
        if images.dtype != np.uint8:
            raise InputError(f"place takes uint8 images (0-255), got {images.dtype}")
        if images.ndim == 3:
            images = images[:, None]  # grey (N, H, W) -> (N, 1, H, W)
        if images.ndim != 4 or images.shape[1] not in (1, 3, 4) or min(images.shape[2:]) < 1:
            raise InputError(
                f"place takes uint8 images [N, C, H, W] (C 1, 3 or 4) or grey [N, H, W]; got {list(images.shape)}"
            )
        channels, height, width = self.bundle.chw
        if images.shape[1:] == (channels, height, width):  # already as the model takes them
            return images.astype(np.float32) / 255.0
        pictures = images[:, 0] if images.shape[1] == 1 else images.transpose(0, 2, 3, 1)  # (N, H, W[, C]) as decoded
        converted = [to_model_input(picture, (height, width), channels, self.bundle.background) for picture in pictures]
        return np.stack(converted).astype(np.float32) / 255.0


class Snapshot:
    """One moment of the bundle's training (its timeline): where the test images sat then, and what the model of
    that moment decodes anywhere on the plot. The plot is aligned onto the bundle's own, so the dots of one
    snapshot move smoothly into the next's; the last snapshot is the bundle itself."""

    def __init__(self, opened: OpenedBundle, timeline: Timeline, index: int):
        self._opened, self._timeline, self.index = opened, timeline, index
        entry = timeline.info.snapshots[index]
        self.step: int = entry["step"]
        self.epoch: float = entry["epoch"]  # fractional: steps / steps per epoch
        self.test_mse: float = entry["test_mse"]
        self.last = index == len(timeline) - 1
        self.map_xy = opened.map_xy if self.last else timeline.at(index)[1].astype(np.float64)  # (M, 2)
        self._decoder: OnnxModel | None = None
        self._projection: MapProjection | None = None

    def __repr__(self) -> str:
        return f"Snapshot(step={self.step}, epoch={self.epoch:g}, test_mse={self.test_mse:.5f})"

    def decode_at(self, xy: np.ndarray) -> np.ndarray:
        """(N, 2) plot points -> float32 [N, C, H, W] in [0, 1]: what the model of this moment decodes there."""
        if self.last:
            return self._opened.decode_at(xy)
        xy, bundle = plot_points(xy), self._opened.bundle
        if self._decoder is None:
            file = self._timeline.decoders[self.index]
            self._decoder = OnnxModel(file, "decoder", bundle.latent_dim, bundle.chw, [CPU])
        if self._timeline.info.plot == "latent":  # the alignment undone: this snapshot's own latent space
            latents = self._timeline.own_plane(self.index, xy)[:, : bundle.latent_dim].astype(np.float32)
        else:  # each snapshot's PCA plane, aligned: lifted through its own dots, as a map is
            if self._projection is None:
                self._projection = MapProjection(self._timeline.at(self.index)[0], self.map_xy)
            latents = self._projection.lift(xy)
        return decode(self._decoder, latents, bundle.chw)


def plot_points(xy: np.ndarray) -> np.ndarray:
    """decode_at's argument checked: a finite numeric (N, 2) array, as float64."""
    xy = np.asarray(xy)
    if xy.ndim != 2 or xy.shape[1] != 2 or not np.issubdtype(xy.dtype, np.number) or xy.dtype == np.bool_:
        raise InputError(f"decode_at takes plot points as a numeric (N, 2) array, got {xy.dtype} {list(xy.shape)}")
    if not np.isfinite(xy).all():
        raise InputError("decode_at: the points must be finite")
    return xy.astype(np.float64)


def decode(decoder: OnnxModel, latents: np.ndarray, chw: tuple[int, int, int]) -> np.ndarray:
    """(N, D) latents -> float32 [N, C, H, W], BATCH at a time."""
    if len(latents) == 0:
        return np.zeros((0, *chw), dtype=np.float32)
    return np.concatenate([decoder(latents[i : i + BATCH]) for i in range(0, len(latents), BATCH)])


def open_bundle(bundle: str | Path, strict: bool = False) -> OpenedBundle:
    """Open a bundle folder, or a shipped bundle by name (as `python -m viewer NAME` does), for the API.

    strict: a file whose SHA-256 differs from bundle.json's is an error, not a warning in `.bundle.warnings`.
    """
    path = find(str(bundle))
    if not path.exists():
        raise UserError(missing(path))
    return OpenedBundle(load_bundle(path, strict=strict), strict)
