"""PyTorch modules -> ONNX: the one exporter call, and a decoder graph whose weights can be swapped cheaply.

`to_onnx` is what export runs once per graph (torch's dynamo exporter: ~2 s for the dense decoder). Training
writes a decoder at every snapshot, up to forty a run, so it exports once with torch's TorchScript exporter
(0.08 s for the same decoder) and after that only rewrites the weights inside that graph (`GraphTemplate`,
~10 ms): the graph is the same, only its initializers change.
"""

from __future__ import annotations

import io
import tempfile
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn

OPSET = 18


def to_onnx(module: nn.Module, example: torch.Tensor, input_name: str, output_name: str) -> bytes:
    """Export with a dynamic batch axis and check the graph; returns the serialized model."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        torch.onnx.export(
            module,
            (example,),
            str(path),
            input_names=[input_name],
            output_names=[output_name],
            dynamic_shapes=({0: torch.export.Dim("N")},),
            opset_version=OPSET,
            dynamo=True,
            external_data=False,
            verbose=False,
        )
        proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    return proto.SerializeToString()


class DecoderOnly(nn.Module):
    """The graph the viewer runs: z (N, D) -> image (N, C, H, W) in [0, 1]; its weights are named `decoder.*`."""

    def __init__(self, decoder: nn.Module):
        super().__init__()
        self.decoder = decoder

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)


class EncoderOnly(nn.Module):
    """image (N, C, H, W) in [0, 1] -> z (N, D), a VAE's posterior mean; its weights are named `encoder.*`."""

    def __init__(self, encoder: nn.Module, latent_dim: int):
        super().__init__()
        self.encoder, self.latent_dim = encoder, latent_dim

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.encoder(image)[:, : self.latent_dim]


ROLES = {"decoder": ("z", "image"), "encoder": ("image", "z")}  # each graph's input and output names


def quick_onnx(module: nn.Module, example: torch.Tensor, role: str) -> bytes:
    """A graph through the TorchScript exporter, N dynamic; to_onnx's (dynamo) if that one fails."""
    names = ROLES[role]
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings():  # it warns that the dynamo exporter is the future
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module,
                (example,),
                buffer,
                input_names=[names[0]],
                output_names=[names[1]],
                dynamic_axes={names[0]: {0: "N"}, names[1]: {0: "N"}},
                opset_version=OPSET,
                dynamo=False,
            )
        proto = onnx.load_from_string(buffer.getvalue())
        onnx.checker.check_model(proto)
        return proto.SerializeToString()
    except Exception:  # an exporter's failure has no single type; the dynamo path raises its own if it fails too
        return to_onnx(module, example, *names)


class GraphTemplate:
    """A graph exported once; `onnx_bytes(module)` is the same graph holding that module's current weights.

    The exporter names each initializer after the weight it holds (`decoder.0.weight`), so the weights are
    copied in by name. A graph in which some weight is not an initializer of the same shape (the exporter
    folded it into another) is exported in full every time instead: slower, never wrong.
    """

    def __init__(self, module: nn.Module, example: torch.Tensor, role: str):
        self.example, self.role = example, role
        self.proto = onnx.load_from_string(quick_onnx(module.eval(), example, role))
        slots = {init.name: init for init in self.proto.graph.initializer}
        self.swappable = all(
            name in slots and tuple(slots[name].dims) == tuple(tensor.shape)
            for name, tensor in module.state_dict().items()
        )
        self._slots = slots

    def onnx_bytes(self, module: nn.Module) -> bytes:
        if not self.swappable:
            return quick_onnx(module.eval(), self.example, self.role)
        for name, tensor in module.state_dict().items():
            slot = self._slots[name]
            array = tensor.detach().cpu().numpy().astype(numpy_helper.helper.tensor_dtype_to_np_dtype(slot.data_type))
            slot.CopyFrom(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return self.proto.SerializeToString()
