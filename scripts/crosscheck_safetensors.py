#!/usr/bin/env python3
"""Cross-checks kensho's safetensors checkpoints against a second implementation: numpy and
the `safetensors` package from PyPI (no kensho code involved).

Usage: python scripts/crosscheck_safetensors.py DIR

Run by tests/suite/checkpoint_crosscheck.rs when KENSHO_PYTHON names a python with numpy and
safetensors installed:

1. Reads DIR/model.safetensors, a trained MLP saved by kensho's `Sequential::save`: the
   architecture from the JSON under the `kensho.model` metadata key, the weights from the
   tensors. Recomputes the forward pass in numpy (float64) on the inputs `x` of
   DIR/predict.safetensors and compares with kensho's `predict` output `y` stored there
   (absolute and relative tolerance 1e-5).
   Also reads DIR/model_pt.safetensors, the same weights saved by kensho with
   `WeightsLayout::PyTorch`, and checks it holds exactly the state_dict keys and layouts of the
   equivalent `nn.Sequential` (numbered here independently of kensho's code).
2. Writes DIR/torch_mlp.safetensors, the `state_dict()` that PyTorch would hold for
   `nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.1), nn.Linear(8, 3), nn.Softmax(-1))`
   (keys `0.weight` [8, 4], `0.bias`, `3.weight` [3, 8], `3.bias`) from seeded numpy arrays, and
   DIR/torch_io.safetensors holding inputs `x` and numpy's outputs `y`. The Rust test then loads
   the file with `WeightsLayout::PyTorch` and compares kensho's predictions with `y`.

3. Reads DIR/cnn_pt.safetensors, a small convnet saved by kensho with `WeightsLayout::PyTorch`
   (`Input(6, 6, 2) -> Conv2D(3, 3x3, relu) -> MaxPooling2D(2) -> Flatten -> Dense(4)`), and
   recomputes it as PyTorch would run the equivalent channels_first
   `nn.Sequential(nn.Conv2d(2, 3, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(12, 4))`
   (keys `0.weight` [3, 2, 3, 3], `0.bias`, `4.weight` [4, 12], `4.bias`), with a direct numpy
   convolution, on the channels_last inputs of DIR/cnn_io.safetensors transposed to NCHW; its
   outputs must equal kensho's `predict` stored there.

4. Reads DIR/residual_pt.safetensors, a functional model saved by kensho with
   `WeightsLayout::PyTorch`: two inputs `a`, `b` of 5 features; a Dense(5, relu) "shared"
   applied to both (one set of weights); `h = shared(a) + b`; a Dense(5) "inner" on `h`; the
   residual `r = h + inner(h)`; a Dense(3) "out" on `r`. The file must hold the state_dict of the
   equivalent `nn.Module` with attributes `shared`, `inner`, `out` (keys `shared.weight`, ...,
   `out.bias`, weights `[out, in]`); numpy recomputes the forward pass on the inputs of
   DIR/residual_io.safetensors and compares with kensho's `predict_many` output `y` there.

5. Reads DIR/attention_pt.safetensors, a self-attention model saved by kensho with
   `WeightsLayout::PyTorch`: inputs `[5, 8]` -> MultiHeadAttention(2 heads of 4) on (x, x) ->
   LayerNormalization. The file must hold the state_dict of the equivalent
   `nn.MultiheadAttention(8, 2, batch_first=True)` followed by `nn.LayerNorm(8, eps=1e-3)`
   (attributes `multi_head_attention` and `layer_normalization`: `in_proj_weight` [24, 8],
   `in_proj_bias`, `out_proj.weight`, `out_proj.bias`, `weight`, `bias`); numpy recomputes
   PyTorch's formulas on DIR/attention_io.safetensors and compares with kensho's `predict`.

6. Reads DIR/recurrent_pt.safetensors, a chain saved by kensho with `WeightsLayout::PyTorch`:
   inputs `[6, 3]` -> LSTM(5, return_sequences) -> GRU(4), the state_dict of the equivalent
   `nn.LSTM(3, 5, batch_first=True)` and `nn.GRU(5, 4, batch_first=True)` numbered as children
   0 and 1 (`0.weight_ih_l0` [20, 3], ..., `1.bias_hh_l0` [12]); numpy runs PyTorch's LSTM and
   GRU equations (gate orders i, f, g, o and r, z, n) on DIR/recurrent_io.safetensors and
   compares the GRU's last state with kensho's `predict`.

Exits with status 1 if step 1, 3, 4, 5 or 6 does not match.
"""

import json
import math
import sys
from pathlib import Path

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

TOLERANCE = 1e-5


def erf(x):
    return np.vectorize(math.erf)(x)


def activation(name, x):
    """The activation serialized as kensho's `Activation` (a string, or a one-key dict)."""
    params = {}
    if isinstance(name, dict):
        ((name, params),) = name.items()
    if name == "linear":
        return x
    if name == "relu":
        return np.maximum(x, 0.0)
    if name == "leaky_relu":
        return np.where(x > 0, x, params["alpha"] * x)
    if name == "elu":
        return np.where(x > 0, x, params["alpha"] * np.expm1(x))
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    if name == "tanh":
        return np.tanh(x)
    if name == "softmax":
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    if name == "gelu":
        return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))
    if name in ("silu", "swish"):
        return x / (1.0 + np.exp(-x))
    if name == "softplus":
        return np.logaddexp(0.0, x)
    raise ValueError(f"unknown activation {name!r}")


def forward(layers, weights, x):
    """The inference-mode forward pass of a kensho Sequential described by its layer configs."""
    h = x.astype(np.float64)
    for layer in layers:
        kind, config = layer["class_name"], layer["config"]
        if kind == "InputLayer" or kind == "Dropout":
            continue
        if kind == "Dense":
            name = config["name"]
            h = h @ weights[f"{name}.kernel"].astype(np.float64)
            if config["use_bias"]:
                h = h + weights[f"{name}.bias"].astype(np.float64)
            h = activation(config["activation"], h)
        elif kind == "Activation":
            h = activation(config["activation"], h)
        elif kind == "Flatten":
            h = h.reshape(h.shape[0], -1)
        elif kind == "Reshape":
            h = h.reshape(h.shape[0], *config["target_shape"])
        else:
            raise ValueError(f"no numpy forward for layer class {kind!r}")
    return h


def compare(what, got, expected):
    diff = np.abs(got.astype(np.float64) - expected.astype(np.float64))
    bound = TOLERANCE + TOLERANCE * np.abs(expected)
    print(f"{what}: shape {got.shape}, max abs difference {diff.max():.3g}")
    return got.shape == expected.shape and bool((diff <= bound).all())


def check_kensho_model(folder):
    path = folder / "model.safetensors"
    with safe_open(str(path), framework="np") as f:
        metadata = f.metadata()
    assert metadata["format"] == "kensho.model", metadata.get("format")
    model = json.loads(metadata["kensho.model"])
    tensors = load_file(str(path))
    for name, t in tensors.items():
        assert t.dtype == np.float32, (name, t.dtype)
    weights = {k: v for k, v in tensors.items() if not k.startswith("optimizer/")}
    print(f"step 1: {len(model['layers'])} layers, weights {sorted(weights)}")
    if not check_torch_layout(folder, model["layers"], weights):
        print("step 1: the PyTorch-layout file differs from the state_dict expected", file=sys.stderr)
        return False
    io = load_file(str(folder / "predict.safetensors"))
    return compare("step 1: numpy forward vs kensho predict", forward(model["layers"], weights, io["x"]), io["y"])


def torch_state_dict(layers, weights):
    """What `nn.Sequential(...).state_dict()` holds for these kensho layers: each Dense is an
    nn.Linear (weight [out, in]) followed by its activation module unless linear; Activation,
    Dropout, Flatten and Reshape are one module each; InputLayer is none."""
    state, index = {}, 0
    for layer in layers:
        kind, config = layer["class_name"], layer["config"]
        if kind == "InputLayer":
            continue
        if kind == "Dense":
            state[f"{index}.weight"] = weights[f"{config['name']}.kernel"].T
            if config["use_bias"]:
                state[f"{index}.bias"] = weights[f"{config['name']}.bias"]
            index += 1 if config["activation"] == "linear" else 2
        else:
            index += 1
    return state


def check_torch_layout(folder, layers, weights):
    expected = torch_state_dict(layers, weights)
    got = load_file(str(folder / "model_pt.safetensors"))
    print(f"step 1: PyTorch layout keys {sorted(got)}")
    if sorted(got) != sorted(expected):
        print(f"PyTorch layout keys differ: expected {sorted(expected)}", file=sys.stderr)
        return False
    return all(got[k].shape == expected[k].shape and np.array_equal(got[k], expected[k]) for k in expected)


def write_torch_mlp(folder):
    rng = np.random.default_rng(2024)
    f32 = np.float32
    state = {
        "0.weight": (rng.standard_normal((8, 4)) * 0.5).astype(f32),
        "0.bias": (rng.standard_normal(8) * 0.1).astype(f32),
        "3.weight": (rng.standard_normal((3, 8)) * 0.5).astype(f32),
        "3.bias": (rng.standard_normal(3) * 0.1).astype(f32),
    }
    x = rng.uniform(-2.0, 2.0, (16, 4)).astype(f32)
    d = {k: v.astype(np.float64) for k, v in state.items()}
    h = np.maximum(x.astype(np.float64) @ d["0.weight"].T + d["0.bias"], 0.0)  # Linear, ReLU (Dropout: eval)
    y = activation("softmax", h @ d["3.weight"].T + d["3.bias"])  # Linear, Softmax
    save_file(state, str(folder / "torch_mlp.safetensors"), metadata={"format": "pt"})
    save_file({"x": x, "y": y.astype(f32)}, str(folder / "torch_io.safetensors"))
    print("step 2: wrote torch_mlp.safetensors (0.weight, 0.bias, 3.weight, 3.bias) and torch_io.safetensors")


def conv2d_nchw(x, weight, bias):
    """A direct valid convolution with stride 1, as nn.Conv2d: x [N, C, H, W], weight
    [O, C, KH, KW] -> [N, O, H - KH + 1, W - KW + 1]."""
    n, _, h, w = x.shape
    o, _, kh, kw = weight.shape
    out = np.zeros((n, o, h - kh + 1, w - kw + 1))
    for i in range(h - kh + 1):
        for j in range(w - kw + 1):
            patch = x[:, :, i : i + kh, j : j + kw]
            out[:, :, i, j] = np.einsum("nckl,ockl->no", patch, weight)
    return out + bias[None, :, None, None]


def max_pool2_nchw(x):
    n, c, h, w = x.shape
    return x[:, :, : h // 2 * 2, : w // 2 * 2].reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


def check_torch_cnn(folder):
    state = {k: v.astype(np.float64) for k, v in load_file(str(folder / "cnn_pt.safetensors")).items()}
    print(f"step 3: PyTorch-layout convnet keys {sorted((k, v.shape) for k, v in state.items())}")
    expected = {"0.weight": (3, 2, 3, 3), "0.bias": (3,), "4.weight": (4, 12), "4.bias": (4,)}
    if {k: v.shape for k, v in state.items()} != expected:
        print(f"step 3: expected the keys and shapes {expected}", file=sys.stderr)
        return False
    io = load_file(str(folder / "cnn_io.safetensors"))
    x = io["x"].astype(np.float64).transpose(0, 3, 1, 2)  # NHWC -> NCHW
    h = np.maximum(conv2d_nchw(x, state["0.weight"], state["0.bias"]), 0.0)
    h = max_pool2_nchw(h).reshape(x.shape[0], -1)  # nn.Flatten of NCHW: (c, h, w) order
    y = h @ state["4.weight"].T + state["4.bias"]
    return compare("step 3: PyTorch-equivalent numpy convnet vs kensho predict", y, io["y"])


def check_torch_residual(folder):
    state = {k: v.astype(np.float64) for k, v in load_file(str(folder / "residual_pt.safetensors")).items()}
    print(f"step 4: PyTorch-layout functional model keys {sorted((k, v.shape) for k, v in state.items())}")
    expected = {
        "shared.weight": (5, 5),
        "shared.bias": (5,),
        "inner.weight": (5, 5),
        "inner.bias": (5,),
        "out.weight": (3, 5),
        "out.bias": (3,),
    }
    if {k: v.shape for k, v in state.items()} != expected:
        print(f"step 4: expected the keys and shapes {expected}", file=sys.stderr)
        return False
    io = load_file(str(folder / "residual_io.safetensors"))
    a, b = io["a"].astype(np.float64), io["b"].astype(np.float64)

    def linear(name, x):
        return x @ state[f"{name}.weight"].T + state[f"{name}.bias"]

    h = np.maximum(linear("shared", a), 0.0) + np.maximum(linear("shared", b), 0.0)
    r = h + linear("inner", h)
    return compare("step 4: PyTorch-equivalent numpy functional model vs kensho predict", linear("out", r), io["y"])


def check_torch_attention(folder):
    state = {k: v.astype(np.float64) for k, v in load_file(str(folder / "attention_pt.safetensors")).items()}
    print(f"step 5: PyTorch-layout attention keys {sorted((k, v.shape) for k, v in state.items())}")
    mha, norm = "multi_head_attention", "layer_normalization"
    expected = {
        f"{mha}.in_proj_weight": (24, 8),
        f"{mha}.in_proj_bias": (24,),
        f"{mha}.out_proj.weight": (8, 8),
        f"{mha}.out_proj.bias": (8,),
        f"{norm}.weight": (8,),
        f"{norm}.bias": (8,),
    }
    if {k: v.shape for k, v in state.items()} != expected:
        print(f"step 5: expected the keys and shapes {expected}", file=sys.stderr)
        return False
    io = load_file(str(folder / "attention_io.safetensors"))
    x = io["x"].astype(np.float64)  # [batch, time, 8]
    w, b = state[f"{mha}.in_proj_weight"], state[f"{mha}.in_proj_bias"]
    q, k, v = (x @ w[i * 8:(i + 1) * 8].T + b[i * 8:(i + 1) * 8] for i in range(3))
    heads = lambda t: t.reshape(t.shape[0], t.shape[1], 2, 4).transpose(0, 2, 1, 3)  # [batch, head, time, 4]
    scores = heads(q) @ heads(k).transpose(0, 1, 3, 2) / math.sqrt(4)
    scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
    attended = (scores / scores.sum(axis=-1, keepdims=True)) @ heads(v)
    attended = attended.transpose(0, 2, 1, 3).reshape(x.shape)
    y = attended @ state[f"{mha}.out_proj.weight"].T + state[f"{mha}.out_proj.bias"]
    mean, var = y.mean(axis=-1, keepdims=True), y.var(axis=-1, keepdims=True)
    y = (y - mean) / np.sqrt(var + 1e-3) * state[f"{norm}.weight"] + state[f"{norm}.bias"]
    return compare("step 5: PyTorch-equivalent numpy attention vs kensho predict", y, io["y"])


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def torch_lstm(x, w_ih, w_hh, b_ih, b_hh):
    """nn.LSTM(batch_first=True) from zero states: every step's h."""
    units = w_hh.shape[1]
    h, c, out = np.zeros((x.shape[0], units)), np.zeros((x.shape[0], units)), []
    for t in range(x.shape[1]):
        gates = x[:, t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh
        i, f, g, o = (gates[:, k * units:(k + 1) * units] for k in range(4))
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        out.append(h)
    return np.stack(out, axis=1)


def torch_gru(x, w_ih, w_hh, b_ih, b_hh):
    """nn.GRU(batch_first=True) from a zero state: the last h."""
    units = w_hh.shape[1]
    h = np.zeros((x.shape[0], units))
    for t in range(x.shape[1]):
        gi, gh = x[:, t] @ w_ih.T + b_ih, h @ w_hh.T + b_hh
        r = sigmoid(gi[:, :units] + gh[:, :units])
        z = sigmoid(gi[:, units:2 * units] + gh[:, units:2 * units])
        n = np.tanh(gi[:, 2 * units:] + r * gh[:, 2 * units:])
        h = (1.0 - z) * n + z * h
    return h


def check_torch_recurrent(folder):
    state = {k: v.astype(np.float64) for k, v in load_file(str(folder / "recurrent_pt.safetensors")).items()}
    print(f"step 6: PyTorch-layout LSTM and GRU keys {sorted((k, v.shape) for k, v in state.items())}")
    expected = {
        "0.weight_ih_l0": (20, 3), "0.weight_hh_l0": (20, 5), "0.bias_ih_l0": (20,), "0.bias_hh_l0": (20,),
        "1.weight_ih_l0": (12, 5), "1.weight_hh_l0": (12, 4), "1.bias_ih_l0": (12,), "1.bias_hh_l0": (12,),
    }
    if {k: v.shape for k, v in state.items()} != expected:
        print(f"step 6: expected the keys and shapes {expected}", file=sys.stderr)
        return False
    io = load_file(str(folder / "recurrent_io.safetensors"))
    weights = lambda m: [state[f"{m}.{n}_l0"] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    y = torch_gru(torch_lstm(io["x"].astype(np.float64), *weights(0)), *weights(1))
    return compare("step 6: PyTorch-equivalent numpy LSTM and GRU vs kensho predict", y, io["y"])


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    folder = Path(sys.argv[1])
    ok = check_kensho_model(folder)
    write_torch_mlp(folder)
    cnn_ok = check_torch_cnn(folder)
    residual_ok = check_torch_residual(folder)
    attention_ok = check_torch_attention(folder)
    recurrent_ok = check_torch_recurrent(folder)
    if not ok:
        print("step 1 FAILED: kensho's predictions differ from numpy's", file=sys.stderr)
    if not cnn_ok:
        print("step 3 FAILED: kensho's convnet differs from its PyTorch-layout recomputation", file=sys.stderr)
    if not residual_ok:
        print("step 4 FAILED: kensho's functional model differs from its PyTorch-layout recomputation", file=sys.stderr)
    if not attention_ok:
        print("step 5 FAILED: kensho's attention differs from its PyTorch-layout recomputation", file=sys.stderr)
    if not recurrent_ok:
        print("step 6 FAILED: kensho's LSTM and GRU differ from their PyTorch-layout recomputation", file=sys.stderr)
    if not (ok and cnn_ok and residual_ok and attention_ok and recurrent_ok):
        sys.exit(1)


if __name__ == "__main__":
    main()
