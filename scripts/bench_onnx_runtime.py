#!/usr/bin/env python3
"""Time ONNX Runtime's inference of a model exported by kensho (workload O of examples/bench.rs).

Runs the model on the CPU provider with --threads intra-op threads (default 1), one inter-op
thread, sequential execution and all graph optimizations, over all rows of the inputs in batches
of --batch (the last one shorter), the outputs joined into one array as kensho's
`predict_batched` returns them. After two warm-up passes, each repetition repeats whole passes
until at least --min-seconds have passed and counts rows per second; the figure is the median
(the upper one for an even count, as the harness's).

    python scripts/bench_onnx_runtime.py model.onnx inputs.npy --batch 128 --reps 3

Prints one JSON object on one line, keys in the harness's order, for example
{"runtime":"onnxruntime","version":"1.22.0","threads":1,"batch":128,
 "figure":"predict_samples_per_s","value":123456.7,"reps":[...]}
With --expected (kensho's predictions as .npy) it adds "max_abs_diff", the largest absolute
difference between ONNX Runtime's outputs and those, so a wrong export cannot pass as fast.
"""

import argparse
import json
import sys
import time

import numpy as np
import onnxruntime as ort


def session(model, threads):
    """An ONNX Runtime CPU session pinned to `threads` intra-op threads and one inter-op thread."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def predict(sess, input_name, batches):
    """Runs every batch and joins the outputs along the batch axis (the model's first output)."""
    return np.concatenate([sess.run(None, {input_name: b})[0] for b in batches])


def rate(sess, input_name, batches, rows, min_seconds):
    """Rows per second of whole passes over `batches`, repeated until `min_seconds` have passed."""
    start = time.perf_counter()
    passes = 0
    while True:
        predict(sess, input_name, batches)
        passes += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return rows * passes / elapsed


def positive(kind):
    """An argparse type accepting positive values of `kind` only."""

    def parse(text):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
        return value

    return parse


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="the .onnx file (one input)")
    parser.add_argument("inputs", help="the input rows as .npy (float32, batch axis first)")
    parser.add_argument("--batch", type=positive(int), default=128, help="rows per run (default 128)")
    parser.add_argument("--reps", type=positive(int), default=3, help="repetitions, median reported (default 3)")
    parser.add_argument("--threads", type=positive(int), default=1, help="intra-op threads (default 1)")
    parser.add_argument("--min-seconds", type=positive(float), default=0.5, help="time per repetition (default 0.5)")
    parser.add_argument("--expected", help="kensho's predictions as .npy: report the max abs diff to them")
    args = parser.parse_args()

    sess = session(args.model, args.threads)
    if len(sess.get_inputs()) != 1:
        print(f"{args.model}: expected a model with one input, found {len(sess.get_inputs())}", file=sys.stderr)
        return 1
    input_name = sess.get_inputs()[0].name
    x = np.ascontiguousarray(np.load(args.inputs), dtype=np.float32)
    batches = [x[i : i + args.batch] for i in range(0, len(x), args.batch)]

    outputs = predict(sess, input_name, batches)
    predict(sess, input_name, batches)
    reps = [rate(sess, input_name, batches, len(x), args.min_seconds) for _ in range(args.reps)]

    result = {"runtime": "onnxruntime", "version": ort.__version__, "threads": args.threads, "batch": args.batch}
    result["figure"] = "predict_samples_per_s"
    result["value"] = round(sorted(reps)[len(reps) // 2], 1)
    result["reps"] = [round(r, 1) for r in reps]
    if args.expected:
        expected = np.load(args.expected)
        if expected.shape != outputs.shape:
            print(f"{args.expected}: shape {expected.shape}, ONNX Runtime gave {outputs.shape}", file=sys.stderr)
            return 1
        result["max_abs_diff"] = float(np.abs(outputs.astype(np.float64) - expected).max())
    print(json.dumps(result, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
