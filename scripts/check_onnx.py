#!/usr/bin/env python3
"""Check an ONNX file written by kensho against kensho's own predictions.

Runs the full ONNX checker on the model, then ONNX Runtime (CPU) on the given inputs, and
compares every output with the expected .npy file (max absolute difference, --atol, default
1e-5; with --rtol a relative part is allowed as well: |a - b| <= atol + rtol * |b|). The
reference evaluator of the onnx package (onnx.reference) is a third opinion: its differences
are reported, and fail the check only with --strict-reference; an operator it lacks is a note.

    python scripts/check_onnx.py model.onnx --inputs x.npy --expected y.npy

Exit status: 0 when every output matches, 1 on a mismatch or a checker error.
"""

import argparse
import sys

import numpy as np
import onnx
import onnxruntime as ort


def compare(name, got, want, atol, rtol):
    """Prints the max abs diff of one output and returns whether it is within tolerance."""
    if got.shape != want.shape:
        print(f"  {name}: shape {got.shape}, expected {want.shape}")
        return False
    diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
    max_diff = float(diff.max()) if diff.size else 0.0
    allowed = atol + rtol * np.abs(want.astype(np.float64))
    ok = bool(np.all(diff <= allowed)) and not np.isnan(got).any()
    print(f"  {name}: max abs diff {max_diff:.3e} ({'ok' if ok else 'MISMATCH'})")
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="the .onnx file")
    parser.add_argument("--inputs", nargs="+", required=True, help="one .npy file per model input, in order")
    parser.add_argument("--expected", nargs="+", required=True, help="one .npy file per model output, in order")
    parser.add_argument("--atol", type=float, default=1e-5, help="absolute tolerance (default 1e-5)")
    parser.add_argument("--rtol", type=float, default=0.0, help="relative tolerance (default 0: absolute only)")
    parser.add_argument("--strict-reference", action="store_true", help="fail on a reference-evaluator mismatch")
    args = parser.parse_args()

    model = onnx.load(args.model)
    onnx.checker.check_model(model, full_check=True)
    print(f"{args.model}: checker ok (opset {model.opset_import[0].version}, IR {model.ir_version})")

    session = ort.InferenceSession(args.model, providers=["CPUExecutionProvider"])
    input_names = [i.name for i in session.get_inputs()]
    output_names = [o.name for o in session.get_outputs()]
    if len(args.inputs) != len(input_names) or len(args.expected) != len(output_names):
        print(f"the model has inputs {input_names} and outputs {output_names}; "
              f"given {len(args.inputs)} input and {len(args.expected)} expected files")
        return 1
    feeds = {name: np.load(path) for name, path in zip(input_names, args.inputs)}
    expected = [np.load(path) for path in args.expected]

    ok = True
    print("onnxruntime:")
    for name, got, want in zip(output_names, session.run(output_names, feeds), expected):
        ok &= compare(name, got, want, args.atol, args.rtol)

    try:
        from onnx.reference import ReferenceEvaluator

        reference = ReferenceEvaluator(model).run(output_names, feeds)
    except Exception as err:  # an operator the reference evaluator lacks: a note, not a failure
        print(f"onnx.reference: not run ({type(err).__name__}: {err})")
    else:
        print("onnx.reference:")
        for name, got, want in zip(output_names, reference, expected):
            matched = compare(name, np.asarray(got), want, args.atol, args.rtol)
            ok &= matched or not args.strict_reference
    print("match" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
