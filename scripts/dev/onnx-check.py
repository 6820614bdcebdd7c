"""Checks, with Python's onnx and onnxruntime, the decoder graphs gpt2-spec writes (run by onnx-check.sh).

For every <model>-<precision>.onnx in the folder, and in its external/ subfolder (the same exports with the
weights as external data in <file>.data beside each):
  1. onnx.checker.check_model(path, full_check=True): the file is a valid model, and strict shape inference
     agrees; where the weights are external data, every one names the side file, at a 4096-byte aligned
     offset, with the tensor's length;
  2. the I/O names are Optimum's (input_ids, position_ids, past_key_values.{i}.key/value; logits, present.{i}.*);
  3. Python onnxruntime runs a prompt from empty past tensors, then a cached step, and reproduces the logits and
     presents our Node runner computed (<model>-<precision>.ours.safetensors, saved alongside);
  4. it reproduces the fixtures' HF float64 goldens (every forward case of the model, and its cached next step)
     at the manifest's tolerance for the file's precision.
Usage: .venv/bin/python scripts/dev/onnx-check.py DIR
"""

from __future__ import annotations

import json
import pathlib
import sys

import numpy
import onnx
import onnxruntime
from safetensors.numpy import load_file

REPO = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"
# Our runner and Python onnxruntime run the same graph on the same ORT version; only thread-count-dependent
# summation order may differ. Allowed: a few units in the last place of each precision.
SAME_RUNTIME = {"float32": dict(atol=1e-5, rtol=1e-5), "float64": dict(atol=1e-12, rtol=1e-12)}


def usage(actual: numpy.ndarray, expected: numpy.ndarray, atol: float, rtol: float) -> float:
    a = actual.astype(numpy.float64)
    e = expected.astype(numpy.float64)
    if a.shape != e.shape:
        raise AssertionError(f"shape {a.shape} differs from {e.shape}")
    return float((numpy.abs(a - e) / (atol + rtol * numpy.abs(e))).max())


class Decoder:
    def __init__(self, path: pathlib.Path):
        self.session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        self.inputs = {i.name: i for i in self.session.get_inputs()}
        self.outputs = [o.name for o in self.session.get_outputs()]
        self.n_layer = sum(1 for n in self.inputs if n.endswith(".key"))
        key = self.inputs["past_key_values.0.key"]
        self.heads, self.head_size = key.shape[1], key.shape[3]
        self.dtype = numpy.float32 if key.type == "tensor(float)" else numpy.float64

    def run(self, ids: numpy.ndarray, past: list[tuple[numpy.ndarray, numpy.ndarray]] | None):
        b, t = ids.shape
        if past is None:
            empty = numpy.zeros((b, self.heads, 0, self.head_size), self.dtype)
            past = [(empty, empty)] * self.n_layer
        p = past[0][0].shape[2]
        feeds = {"input_ids": ids.astype(numpy.int64), "position_ids": numpy.tile(numpy.arange(p, p + t, dtype=numpy.int64), (b, 1))}
        for i, (k, v) in enumerate(past):
            feeds[f"past_key_values.{i}.key"], feeds[f"past_key_values.{i}.value"] = k.astype(self.dtype), v.astype(self.dtype)
        out = dict(zip(self.outputs, self.session.run(None, feeds)))
        return out["logits"], [(out[f"present.{i}.key"], out[f"present.{i}.value"]) for i in range(self.n_layer)]


def external_layout(path: pathlib.Path, proto: onnx.ModelProto) -> str:
    """Where the weights are: embedded, or external data in one side file, each aligned and of its tensor's length."""
    external = [t for t in proto.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
    if not external:
        return "weights: embedded"
    side = path.with_name(path.name + ".data")
    for t in external:
        info = {e.key: e.value for e in t.external_data}
        size = int(numpy.prod(t.dims)) * onnx.helper.tensor_dtype_to_np_dtype(t.data_type).itemsize
        if info["location"] != side.name or int(info["offset"]) % 4096 or int(info["length"]) != size:
            raise AssertionError(f"{path.name}: {t.name}'s external data {info} is not {side.name}, 4096-aligned, {size} bytes")
    return (f"weights: {len(external)} of {len(proto.graph.initializer)} initializers external in {side.name} "
            f"({side.stat().st_size / 1e6:.2f} MB), offsets 4096-aligned, lengths the tensors' bytes")


def check_file(path: pathlib.Path, ours_dir: pathlib.Path, manifest: dict) -> list[str]:
    model, precision = path.stem.rsplit("-", 1)
    lines = []
    onnx.checker.check_model(str(path), full_check=True)  # the path form: it reads external data beside the file
    proto = onnx.load(str(path), load_external_data=False)
    opset = next(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx"))
    ops = sorted({n.op_type for n in proto.graph.node})
    lines.append(f"onnx.checker.check_model(path, full_check=True): ok   (IR {proto.ir_version}, opset {opset}, {len(proto.graph.node)} nodes: {', '.join(ops)})")
    lines.append(external_layout(path, proto))

    dec = Decoder(path)
    n = dec.n_layer
    want_in = ["input_ids", "position_ids"] + [f"past_key_values.{i}.{kv}" for i in range(n) for kv in ("key", "value")]
    want_out = ["logits"] + [f"present.{i}.{kv}" for i in range(n) for kv in ("key", "value")]
    if list(dec.inputs) != want_in or dec.outputs != want_out:
        raise AssertionError(f"{path.name}: I/O names {list(dec.inputs)} -> {dec.outputs} are not the Optimum names")
    lines.append(f"I/O names: Optimum's ({len(want_in)} inputs, {len(want_out)} outputs)")

    ours = load_file(str(ours_dir / f"{path.stem}.ours.safetensors"))
    same = SAME_RUNTIME[precision]
    worst = 0.0
    max_abs = 0.0
    past = None
    for step in (0, 1):
        logits, present = dec.run(ours[f"step{step}.input_ids"], past)
        pairs = [(logits, ours[f"step{step}.logits"])]
        for i, (k, v) in enumerate(present):
            pairs += [(k, ours[f"step{step}.present.{i}.key"]), (v, ours[f"step{step}.present.{i}.value"])]
        for a, e in pairs:
            worst = max(worst, usage(a, e, **same))
            max_abs = max(max_abs, float(numpy.abs(a.astype(numpy.float64) - e.astype(numpy.float64)).max()))
        past = present
    if worst > 1:
        raise AssertionError(f"{path.name}: Python onnxruntime differs from our Node runner: {worst:.3g}× atol {same['atol']}, rtol {same['rtol']}")
    lines.append(f"python onnxruntime {onnxruntime.__version__} vs our node runner (prompt from empty past + cached step): "
                 + ("bit-identical" if max_abs == 0 else f"max |diff| {max_abs:.3g}, {100 * worst:.2f}% of atol {same['atol']:g} + rtol {same['rtol']:g}"))

    tol = manifest["tolerances"][precision]
    golden_worst = {"forward.logits": 0.0, "forward.present": 0.0}
    cases = [c for c in manifest["cases"] if c["model"] == model and c["kind"] == "forward"]
    for case in cases:
        g = load_file(str(FIXTURES / case["file"]))
        logits, present = dec.run(g["input_ids"], None)
        golden_worst["forward.logits"] = max(golden_worst["forward.logits"], usage(logits, g["logits"], **tol["forward.logits"]))
        for i, (k, v) in enumerate(present):
            golden_worst["forward.present"] = max(golden_worst["forward.present"], usage(k, g[f"present.{i}.key"], **tol["forward.present"]),
                                                  usage(v, g[f"present.{i}.value"], **tol["forward.present"]))
        if "next.input_ids" in g:
            next_logits, _ = dec.run(g["next.input_ids"], present)
            golden_worst["forward.logits"] = max(golden_worst["forward.logits"], usage(next_logits, g["next.logits"], **tol["forward.logits"]))
    if max(golden_worst.values()) > 1:
        raise AssertionError(f"{path.name}: misses the HF float64 goldens at the {precision} tolerances: {golden_worst}")
    lines.append(f"vs HF float64 goldens ({len(cases)} cases + cached next steps, {precision} tolerances): "
                 + ", ".join(f"{k} {100 * v:.2f}%" for k, v in golden_worst.items()))
    return lines


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    folder = pathlib.Path(argv[0])
    manifest = json.loads((FIXTURES / "manifest.json").read_text())
    files = sorted(folder.glob("*-float*.onnx")) + sorted(folder.glob("external/*-float*.onnx"))
    if not files:
        print(f"onnx-check: no <model>-<precision>.onnx files in {folder}", file=sys.stderr)
        return 2
    print(f"onnx {onnx.__version__}, onnxruntime {onnxruntime.__version__} (Python), numpy {numpy.__version__}")
    failed = 0
    for path in files:
        print(f"{path.relative_to(folder)} ({path.stat().st_size / 1e6:.2f} MB)")
        try:
            for line in check_file(path, folder, manifest):
                print(f"  {line}")
        except Exception as e:  # report every file, then fail
            failed += 1
            print(f"  FAILED: {type(e).__name__}: {e}")
    print("all checks passed" if not failed else f"{failed} of {len(files)} files FAILED")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
