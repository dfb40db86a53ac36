"""The ONNX side of the contract: each graph's one input and one output, and no tensor kept in another file.

  decoder.onnx    z float32 [N, D] -> image float32 [N, C, H, W] in [0, 1], N dynamic
  encoder.onnx    image float32 [N, C, H, W] in [0, 1] -> z float32 [N, D]

`check_model_io` needs an onnxruntime session (the viewer's inference and export's checks make one);
`check_no_external_data` reads the file's protobuf itself, so a bundle is checked before anything runs it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from latent_common.errors import printable
from latent_common.files import read_limited
from viewer.bundle.format import MAX_ONNX_BYTES, METADATA, BundleError

MAX_ONNX_DEPTH = 32  # nested subgraphs the external-data scan follows


def _expected_io(role: str, latent_dim: int, image_shape: tuple[int, int]) -> tuple[tuple, tuple]:
    latent = ("z", [None, latent_dim])
    image = ("image", [None, *image_shape])
    return (latent, image) if role == "decoder" else (image, latent)


def single_float(file: Path | str, actual: list, role: str, kind: str, name: str) -> Any:
    """The one float32 input or output (onnxruntime's NodeArg) the contract names, or a BundleError that says why."""
    if len(actual) != 1:
        raise BundleError(f"{file}: the {role} must have exactly one {kind}, found {len(actual)}")
    arg = actual[0]
    if arg.name != name:
        raise BundleError(f"{file}: {role} {kind} is named '{printable(str(arg.name), 60)}', expected '{name}'")
    if arg.type != "tensor(float)":
        raise BundleError(
            f"{file}: {role} {kind} '{name}' is {printable(str(arg.type), 60)}, expected tensor(float) (float32)"
        )
    return arg


def check_model_io(file: Path, session: Any, role: str, latent_dim: int, image_shape: tuple[int, int]) -> None:
    """Check an onnxruntime session's single input and output against the contract for `role`."""
    for kind, actual, (name, shape) in zip(
        ("input", "output"), (session.get_inputs(), session.get_outputs()), _expected_io(role, latent_dim, image_shape)
    ):
        arg = single_float(file, actual, role, kind, name)
        if len(arg.shape) != len(shape):
            raise BundleError(
                f"{file}: {role} {kind} '{name}' has rank {len(arg.shape)}, expected {len(shape)} {shape_text(shape)}"
            )
        for axis, (got, want) in enumerate(zip(arg.shape, shape)):
            if want is not None and isinstance(got, int) and got != want:
                raise BundleError(
                    f"{file}: {role} {kind} '{name}' has size {got} on axis {axis}, expected {want} {shape_text(shape)}"
                )
            if want is None and isinstance(got, int) and got != -1:
                raise BundleError(f"{file}: {role} {kind} '{name}' has a fixed batch size {got}; it must be dynamic")


def shape_text(shape: list) -> str:
    return "[" + ", ".join("N" if n is None else str(n) for n in shape) + "]"


# ONNX external data: a graph may name other files to load tensors from (`decoder.onnx.data`). bundle.json
# hashes only the three data files, so such a file could be swapped unnoticed; a bundle's graphs must
# therefore hold all their tensors. The check reads the protobuf wire format directly (the viewer has no
# `onnx` package) and follows only the fields that can hold a tensor:
#   ModelProto.graph 7, .training_info 20, .functions 25; TrainingInfoProto 1, 2 (graphs);
#   FunctionProto.node 7, .attribute_proto 11; GraphProto.node 1, .initializer 5, .sparse_initializer 15;
#   NodeProto.attribute 5; AttributeProto.t 5, .g 6, .tensors 10, .graphs 11, .sparse_tensor 22,
#   .sparse_tensors 23; SparseTensorProto.values 1, .indices 2;
#   TensorProto.external_data 13, .data_location 14 (EXTERNAL = 1).
ONNX_CHILDREN = {
    "model": {7: "graph", 20: "training", 25: "function"},
    "training": {1: "graph", 2: "graph"},
    "function": {7: "node", 11: "attribute"},
    "graph": {1: "node", 5: "tensor", 15: "sparse"},
    "node": {5: "attribute"},
    "attribute": {5: "tensor", 6: "graph", 10: "tensor", 11: "graph", 22: "sparse", 23: "sparse"},
    "sparse": {1: "tensor", 2: "tensor"},
    "tensor": {},
}
TENSOR_EXTERNAL_DATA, TENSOR_DATA_LOCATION, EXTERNAL = 13, 14, 1


class _Malformed(Exception):
    pass


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise _Malformed("a varint runs past its message")
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if byte < 0x80:
            return value, pos


def _fields(data: bytes, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """(field number, wire type, value or start, end) for each field of the message in data[start:end]."""
    pos = start
    while pos < end:
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            yield number, wire, value, pos
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
            yield number, wire, 0, pos
        elif wire == 2:
            length, pos = _varint(data, pos)
            yield number, wire, pos, pos + length
            pos += length
        else:  # groups (3, 4) are not used by ONNX; anything else is not protobuf
            raise _Malformed(f"wire type {wire}")
        if pos > end:
            raise _Malformed("a field runs past its message")


def _external_tensor(data: bytes) -> bool:
    """Whether any tensor in the serialized ModelProto keeps its data in an external file."""
    stack = [("model", 0, len(data), 0)]
    while stack:
        kind, start, end, depth = stack.pop()
        if depth > MAX_ONNX_DEPTH:
            raise _Malformed(f"subgraphs nested more than {MAX_ONNX_DEPTH} deep")
        for number, wire, a, b in _fields(data, start, end):
            if kind == "tensor" and (
                number == TENSOR_EXTERNAL_DATA or (number == TENSOR_DATA_LOCATION and wire == 0 and a == EXTERNAL)
            ):
                return True
            child = ONNX_CHILDREN[kind].get(number)
            if child is not None and wire == 2:
                stack.append((child, a, b, depth + 1))
    return False


def check_no_external_data(file: Path) -> None:
    """Refuse an ONNX file that loads tensors from other files (which no hash in bundle.json covers)."""
    data = read_limited(file, MAX_ONNX_BYTES, BundleError)  # a bundle's files were found by _check_hashes first
    try:
        external = _external_tensor(data)
    except _Malformed as exc:
        raise BundleError(f"{file}: not a loadable ONNX model (malformed protobuf: {exc})") from None
    if external:
        raise BundleError(
            f"{file}: keeps tensor data in a separate file (ONNX external data), which bundles refuse: "
            f"{METADATA} could not vouch for it; export the model as a single file"
        )
