"""Writes the PyTorch fixtures of kensho's ONNX import tests into tests/data/onnx/.

For each tiny model: NAME.onnx (torch.onnx.export, opset 17, dynamic batch axis), NAME.x.npy
(a random input, float32, PyTorch's layout: NCHW for the convnet) and NAME.y.npy (PyTorch's
output on it). The weights, batch-norm statistics and inputs are random with fixed seeds.

The TorchScript exporter (dynamo=False) writes every model; the convnet is also written by the
dynamo exporter (torch.onnx.export's default), as NAME_dynamo. Run with a python that has torch,
onnx and onnxscript:
    python scripts/make_torch_onnx_fixtures.py
"""

import os

import numpy as np
import torch
from torch import nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "onnx")


def randomize_batch_norm(bn: nn.BatchNorm2d) -> None:
    """Random statistics and affine parameters, so the test sees every one of them."""
    with torch.no_grad():
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.5, 0.5)


def export(name: str, model: nn.Module, x: torch.Tensor, dynamo: bool = False) -> None:
    model.eval()
    with torch.no_grad():
        y = model(x)
    path = os.path.join(OUT, name)
    torch.onnx.export(
        model,
        (x,),
        path + ".onnx",
        dynamo=dynamo,
        external_data=False,  # the weights inside the .onnx file
        opset_version=17,
        input_names=["x"],
        output_names=["y"],
        dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}},
    )
    np.save(path + ".x.npy", x.numpy().astype(np.float32))
    np.save(path + ".y.npy", y.numpy().astype(np.float32))
    print(f"{name}: input {tuple(x.shape)}, output {tuple(y.shape)}")


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(20)

    mlp = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    export("torch_mlp", mlp, torch.randn(5, 6))

    # Conv (same pads) -> ReLU -> BatchNorm -> MaxPool -> Conv (stride 2, pads 1: not Keras'
    # same, imported as ZeroPadding2D + valid) -> ReLU -> Flatten (C*H*W order) -> Linear.
    bn = nn.BatchNorm2d(4)
    randomize_batch_norm(bn)
    convnet = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1),
        nn.ReLU(),
        bn,
        nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(6 * 2 * 2, 5),
    )
    x = torch.randn(5, 2, 8, 8)
    export("torch_convnet", convnet, x)
    export("torch_convnet_dynamo", convnet, x, dynamo=True)

    # AvgPool -> Conv -> BatchNorm -> ReLU -> global average pool (AdaptiveAvgPool2d(1)) ->
    # Flatten -> Linear -> Softmax over the features.
    bn = nn.BatchNorm2d(6)
    randomize_batch_norm(bn)
    pooled = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Conv2d(4, 6, 3, padding=1),
        bn,
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(6, 3),
        nn.Softmax(dim=1),
    )
    export("torch_pooled", pooled, torch.randn(5, 3, 6, 6))


if __name__ == "__main__":
    main()
