"""The model bundle: the contract between export (which writes it) and the viewer (which reads it).

A bundle is a folder (format 2; C = 1 or 3 channels, H and W from 8 to 256):
  decoder.onnx    z float32 [N, D] -> image float32 [N, C, H, W] in [0, 1], N dynamic
  encoder.onnx    image float32 [N, C, H, W] in [0, 1] -> z float32 [N, D]
  embedding.npz   z float32 [M, D], labels uint8 [M], images uint8 [M, C, H, W] (no pickles); optional
                  errors float32 [M]: each image's reconstruction MSE (the anomaly view)
  bundle.json     metadata (image_shape [C, H, W]), including the SHA-256 of each file above
Format 1 is the same with grey images and no channel axis: [N, H, W], image_shape [H, W]. The viewer
reads both; export writes format 2.

  format.py     file names, format version, limits, and bundle.json as one typed record (BundleMeta)
  read.py       load_bundle: the record, the hashes, embedding.npz (images memory-mapped when stored plain)
  contract.py   the ONNX graphs' inputs and outputs, and the refusal of ONNX external data
  write.py      write_bundle: the whole folder, atomically, from a BundleMeta and the data files
  kinds.py      what the records share: BundleError, the JSON kinds
  timeline_info.py  bundle.json's `timeline` record (TimelineInfo)
  timeline.py   read_timeline: the optional timeline/ (a decoder and the test latents per training snapshot)

numpy and json only, like safetensors' core: the viewer validates a bundle without torch or onnx.
A bundle may come from a stranger, so every size is checked against the limits before anything
is allocated, every text it holds is checked before it can reach a terminal or a window title, and a
graph may load no file but the ones bundle.json hashes (ONNX external data is refused).
"""

from viewer.bundle.contract import check_model_io, check_no_external_data, shape_text, single_float
from viewer.bundle.format import (
    BUNDLE_FILES,
    CHANNELS,
    DATA_FILES,
    DECODER,
    EMBEDDING,
    ENCODER,
    FORMAT_VERSION,
    LATENT_LIMIT,
    MAP,
    MAP_METHODS,
    MAX_CLASSES,
    MAX_EMBEDDING_BYTES,
    MAX_IMAGE_SIDE,
    MAX_LATENT_DIM,
    MAX_METADATA_BYTES,
    MAX_ONNX_BYTES,
    MAX_POINTS,
    MAX_TEXT,
    METADATA,
    MIN_IMAGE_SIDE,
    MIN_SPAN,
    NOTICE,
    BundleError,
    BundleMeta,
    MapInfo,
    sha256_file,
    validate_meta,
    view_bounds,
)
from viewer.bundle.read import Bundle, load_bundle
from viewer.bundle.timeline_info import TIMELINE, TIMELINE_LATENTS, TimelineInfo
from viewer.bundle.write import check_replaceable, embedding_bytes, write_bundle

__all__ = [
    "BUNDLE_FILES",
    "CHANNELS",
    "DATA_FILES",
    "DECODER",
    "EMBEDDING",
    "ENCODER",
    "FORMAT_VERSION",
    "LATENT_LIMIT",
    "MAP",
    "MAP_METHODS",
    "MAX_CLASSES",
    "MAX_EMBEDDING_BYTES",
    "MAX_METADATA_BYTES",
    "MAX_ONNX_BYTES",
    "MAX_IMAGE_SIDE",
    "MAX_LATENT_DIM",
    "MAX_POINTS",
    "MAX_TEXT",
    "METADATA",
    "MIN_IMAGE_SIDE",
    "MIN_SPAN",
    "NOTICE",
    "TIMELINE",
    "TIMELINE_LATENTS",
    "Bundle",
    "BundleError",
    "BundleMeta",
    "MapInfo",
    "TimelineInfo",
    "check_model_io",
    "check_no_external_data",
    "check_replaceable",
    "embedding_bytes",
    "load_bundle",
    "sha256_file",
    "shape_text",
    "single_float",
    "validate_meta",
    "view_bounds",
    "write_bundle",
]
