#!/usr/bin/env python3
"""Cross-checks kensho's TensorBoard event files with TensorBoard's own readers (the
`tensorboard` package from PyPI; no kensho code involved).

Usage: python scripts/crosscheck_tensorboard.py DIR

Run by tests/suite/tensorboard_crosscheck.rs when KENSHO_PYTHON names a python with
`tensorboard` installed. DIR holds `logs/` (written by kensho's `TensorBoard` callback during a
small `fit`) and `expected.json`, what the Rust side knows it logged:
`{"runs": {"train": {"scalars": {tag: [[step, value], ...]}, "histograms": [tag, ...],
"text": [tag, ...]}, "validation": {...}}, "kernel": {"tag": ..., "step": ..., "values": [...]}}`.

1. For each run folder, `event_accumulator.EventAccumulator` (the reader of TensorBoard's
   legacy API) must find the file version 2, exactly the expected scalar, histogram and tensor
   tags, and for each scalar tag exactly the expected (step, value) pairs (values compared as
   float32, as the file stores them).
2. `plugin_event_accumulator.EventAccumulator`, the reader behind TensorBoard's dashboards
   (it migrates the data to tensors), must route the tags to the `scalars`, `histograms` and
   `text` plugins and give the same scalar values.
3. The histogram of one weight at one step must agree with statistics numpy computes from the
   weight's values: min, max, num, sum, sum of squares, and bucket counts adding up to num.
4. A copy of the train event file with one flipped byte in a record's payload must make the
   record reader raise `DataLossError` (a CRC mismatch), and the event loader must stop before
   that record instead of returning a corrupt event.
"""

import glob
import json
import os
import shutil
import struct
import sys

import numpy as np
from tensorboard.backend.event_processing import event_accumulator, event_file_loader
from tensorboard.backend.event_processing import plugin_event_accumulator
from tensorboard.compat.tensorflow_stub import errors, pywrap_tensorflow
from tensorboard.util import tensor_util


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def check_run(run_dir, expected):
    acc = event_accumulator.EventAccumulator(run_dir, size_guidance={"scalars": 0, "histograms": 0, "tensors": 0})
    acc.Reload()
    assert acc.file_version == 2.0, f"{run_dir}: file version {acc.file_version}"
    tags = acc.Tags()
    assert sorted(tags["scalars"]) == sorted(expected["scalars"]), (tags["scalars"], list(expected["scalars"]))
    assert sorted(tags["histograms"]) == sorted(expected["histograms"]), tags["histograms"]
    assert sorted(tags["tensors"]) == sorted(expected["text"]), tags["tensors"]
    for tag, points in expected["scalars"].items():
        got = [(e.step, f32(e.value)) for e in acc.Scalars(tag)]
        want = [(step, f32(value)) for step, value in points]
        assert got == want, f"{run_dir} {tag}: {got} != {want}"
    for tag in expected["text"]:
        text = acc.Tensors(tag)[0].tensor_proto.string_val[0].decode()
        assert "Total params" in text, text

    plugins = plugin_event_accumulator.EventAccumulator(run_dir, size_guidance={"tensors": 0})
    plugins.Reload()
    routed = {name: sorted(plugins.PluginTagToContent(name)) for name in ("scalars", "histograms", "text")
              if name in plugins.ActivePlugins()}
    want = {name: sorted(tags) for name, tags in
            (("scalars", expected["scalars"]), ("histograms", expected["histograms"]), ("text", expected["text"])) if tags}
    assert routed == want, f"{run_dir}: plugins {routed} != {want}"
    for tag, points in expected["scalars"].items():
        got = [(e.step, float(tensor_util.make_ndarray(e.tensor_proto))) for e in plugins.Tensors(tag)]
        want = [(step, f32(value)) for step, value in points]
        assert got == want, f"{run_dir} {tag} (plugin reader): {got} != {want}"
    return acc


def check_histogram(acc, kernel):
    [event] = [e for e in acc.Histograms(kernel["tag"]) if e.step == kernel["step"]]
    h = event.histogram_value
    values = np.array(kernel["values"], dtype=np.float64)
    assert h.min == values.min() and h.max == values.max(), (h.min, h.max, values.min(), values.max())
    assert h.num == values.size, h.num
    assert abs(h.sum - values.sum()) < 1e-9 and abs(h.sum_squares - (values**2).sum()) < 1e-9, (h.sum, h.sum_squares)
    assert sum(h.bucket) == values.size and h.bucket_limit[-1] == values.max(), (h.bucket, h.bucket_limit)


def check_flipped_byte(run_dir, scratch):
    [path] = glob.glob(os.path.join(run_dir, "events.out.tfevents.*"))
    os.makedirs(scratch)
    copy = os.path.join(scratch, os.path.basename(path))
    shutil.copy(path, copy)
    data = bytearray(open(copy, "rb").read())
    first_len = struct.unpack("<Q", data[:8])[0]
    second_payload = 16 + first_len + 12
    data[second_payload + 3] ^= 0x20
    open(copy, "wb").write(bytes(data))

    reader = pywrap_tensorflow.PyRecordReader_New(copy)
    reader.GetNext()  # the first record is intact
    try:
        reader.GetNext()
    except errors.DataLossError as e:
        assert "crc" in str(e), e
    else:
        raise AssertionError("a flipped byte was not detected")
    events = list(event_file_loader.EventFileLoader(copy).Load())
    assert len(events) == 1 and events[0].file_version == "brain.Event:2", events


def main(directory):
    expected = json.load(open(os.path.join(directory, "expected.json")))
    logs = os.path.join(directory, "logs")
    assert sorted(os.listdir(logs)) == sorted(expected["runs"]), os.listdir(logs)
    accumulators = {run: check_run(os.path.join(logs, run), want) for run, want in expected["runs"].items()}
    check_histogram(accumulators["train"], expected["kernel"])
    check_flipped_byte(os.path.join(logs, "train"), os.path.join(directory, "corrupt"))
    print("tensorboard cross-check passed:", {run: len(w["scalars"]) for run, w in expected["runs"].items()}, "scalar tags")


if __name__ == "__main__":
    main(sys.argv[1])
