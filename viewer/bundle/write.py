"""Writing a bundle: the whole folder built beside its place and renamed into it, so a reader never sees half.

Export (every path: run dir, ONNX pair, from_torch) builds one `BundleMeta` and hands it here with the data
files; the record is checked as the viewer would check it before a byte is written.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from latent_common.atomic import WriteError, check_writable, write_error
from latent_common.cli import interrupts_held
from latent_common.errors import printable, reason
from viewer.bundle.format import BUNDLE_FILES, DATA_FILES, METADATA, NOTICE, BundleError, BundleMeta, sha256_file


def embedding_bytes(z: np.ndarray, labels: np.ndarray, images: np.ndarray, errors: np.ndarray) -> bytes:
    """embedding.npz: z float32 (M, D), labels uint8 (M,), images uint8 (M, C, H, W), errors float32 (M,);
    no pickles."""
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        z=z.astype(np.float32),
        labels=labels.astype(np.uint8),
        images=images.astype(np.uint8),
        errors=errors.astype(np.float32),
    )
    return buffer.getvalue()


def check_replaceable(out: Path, force: bool) -> None:
    """Refuse to write a bundle at out unless nothing is there, an empty folder is, or (with force) a
    bundle and nothing but a bundle is: replacing a folder deletes everything in it. The bundle is built beside
    out, so its folder must take new files: checked here too, before any work."""
    try:
        check_writable(out.parent)
    except WriteError as exc:
        raise BundleError(f"{exc}; pick another --out (nothing was written)") from None
    if not os.path.lexists(out):
        return
    if out.is_symlink():
        raise BundleError(f"{out}: is a symbolic link; give the bundle folder itself (nothing was written)")
    if not out.is_dir():
        raise BundleError(f"{out}: is a file, not a bundle folder; pick another --out (nothing was written)")
    try:
        entries = sorted(entry.name for entry in out.iterdir())
    except OSError as exc:
        raise BundleError(f"{out}: cannot read ({exc.strerror or reason(exc)})") from None
    if not entries:
        return  # an empty folder: nothing to lose
    if METADATA not in entries:
        raise BundleError(
            f"{out}: not a bundle (no {METADATA}) and not empty; --force only ever replaces a bundle, "
            f"so pick another --out (nothing was written)"
        )
    others = [name for name in entries if name not in BUNDLE_FILES]
    if others:
        listed = ", ".join(printable(name, 60) for name in others[:3]) + (", ..." if len(others) > 3 else "")
        raise BundleError(
            f"{out}: holds {len(others)} file(s) that are not part of a bundle ({listed}); replacing it would "
            f"delete them, so nothing was written"
        )
    if not force:
        raise BundleError(f"{out}: already exists; pass --force to replace it")


def write_bundle(out: Path, files: dict[str, bytes | Path], meta: BundleMeta, force: bool = False) -> BundleMeta:
    """Write a bundle atomically: build it in a temp folder beside `out`, then rename it into place.

    `files` maps each of DATA_FILES to its bytes or to a file to copy, and may add the timeline's files
    (`timeline/...`, named in the record's `timeline`); their hashes go into bundle.json. The
    record's format_version is FORMAT_VERSION unless it names an older one its files follow (rewriting a
    format-1 bundle's own files keeps its format). An existing bundle is replaced only with force (and only a
    bundle: see check_replaceable), and stays whole if anything fails before the swap. Returns the record written.
    """
    out = Path(out)
    check_replaceable(out, force)
    BundleMeta.from_dict(meta.to_dict(), out / METADATA)  # never write what the viewer would refuse
    staging = None
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
        staging.chmod(0o755)  # mkdtemp makes it private; a bundle is meant to be shared
        meta = _stage(staging, files, meta)
        check_replaceable(out, force)  # again, just before the swap: the folder may have changed meanwhile
        with interrupts_held(str(out)):  # the old bundle or the new one, never neither
            _swap(staging, out)
    except BaseException as exc:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError):
            raise write_error(out, exc) from None
        raise
    return meta


def _stage(staging: Path, files: dict[str, bytes | Path], meta: BundleMeta) -> BundleMeta:
    """Every file of the bundle in staging, flushed to disk; bundle.json last, with the others' hashes."""
    names = [*DATA_FILES, *(meta.timeline.files if meta.timeline is not None else [])]
    for name in names:
        source = files[name]
        (staging / name).parent.mkdir(exist_ok=True)
        if isinstance(source, Path):
            shutil.copyfile(source, staging / name)
        else:
            (staging / name).write_bytes(source)
    meta = dataclasses.replace(meta, files={name: sha256_file(staging / name) for name in names})
    text = json.dumps(meta.to_dict(), indent=2, allow_nan=False) + "\n"
    (staging / METADATA).write_text(text, encoding="utf-8")
    if meta.notice:  # a licence travels with the images it covers, readable without opening JSON
        (staging / NOTICE).write_text(meta.notice + "\n", encoding="utf-8")
    for file in (path for path in staging.rglob("*") if path.is_file()):
        with file.open("rb") as handle:
            os.fsync(handle.fileno())
    return meta


def _swap(staging: Path, out: Path) -> None:
    """Rename staging to out; a bundle already there goes aside first and is removed once the new one is in."""
    if os.path.lexists(out):
        retired = out.parent / f".{out.name}.old"
        shutil.rmtree(retired, ignore_errors=True)
        os.replace(out, retired)
        os.replace(staging, out)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.replace(staging, out)
