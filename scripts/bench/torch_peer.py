"""The PyTorch peer of the ONNX benchmark: Hugging Face's GPT2LMHeadModel on PyTorch (CPU), on the same
checkpoint folder, prompts, thread count and measurements as scripts/bench-onnx.ts, which starts it and
asks for each measurement in turn, alternating with its own, so that load from other processes falls on
both alike. Requests and answers are JSON lines on stdin and stdout:
    {"op": "prefill", "T": 128, "seed": 1}   -> {"seconds": ...}   (one timed forward of a fresh prompt)
    {"op": "decode", "newTokens": 128}       -> {"tokensPerSecond": ..., ...}   (greedy, with the KV cache)
    {"op": "matmul", "M": 128, "K": 768, "N": 3072, "runs": 15}  -> {"seconds": ...}   (median of torch.matmul)
    {"op": "info"}                           -> versions, threads, BLAS, peak RSS

    .venv/bin/python scripts/bench/torch_peer.py --checkpoint DIR --threads 2

Prompts are the benchmark's: token i of prompt `seed` is (i * 7919 + seed * 104729) % V.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch
import transformers
from transformers import GPT2LMHeadModel


def prompt(t: int, seed: int, vocab: int) -> torch.Tensor:
    return torch.tensor([[(i * 7919 + seed * 104729) % vocab for i in range(t)]], dtype=torch.long)


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def greedy_decode(model: GPT2LMHeadModel, vocab: int, new_tokens: int = 128) -> dict:
    """The prompt once, then one token at a time with the cache, the argmax of the last position each step."""
    t0 = time.perf_counter()
    out = model(prompt(128, 99, vocab), use_cache=True)
    prompt_seconds = time.perf_counter() - t0
    steps = []
    for _ in range(new_tokens):
        t0 = time.perf_counter()
        nxt = out.logits[:, -1, :].argmax(dim=-1, keepdim=True)
        out = model(nxt, past_key_values=out.past_key_values, use_cache=True)
        steps.append(time.perf_counter() - t0)
    decode = sum(steps)
    return {"promptTokens": 128, "newTokens": new_tokens, "promptSeconds": prompt_seconds, "decodeSeconds": decode,
            "tokensPerSecond": new_tokens / decode, "medianStepSeconds": statistics.median_low(steps)}


def matmul_seconds(m: int, k: int, n: int, runs: int) -> float:
    """The median of `runs` float32 matmuls [m,k]·[k,n], after 3 warm-up runs: the ceiling the model runs against."""
    g = torch.Generator().manual_seed(m + k + n)
    x, w = torch.rand(m, k, generator=g) - 0.5, torch.rand(k, n, generator=g) - 0.5
    for _ in range(3):
        torch.matmul(x, w)
    return statistics.median_high([timed(lambda: torch.matmul(x, w)) for _ in range(runs)])


def serve(model: GPT2LMHeadModel, info: dict) -> None:
    """One JSON request a line on stdin, one JSON answer a line on stdout, until stdin closes."""
    vocab = model.config.vocab_size
    for line in sys.stdin:
        req = json.loads(line)
        with torch.inference_mode():
            if req["op"] == "prefill":
                answer = {"seconds": timed(lambda: model(prompt(req["T"], req["seed"], vocab)))}
            elif req["op"] == "matmul":
                answer = {"seconds": matmul_seconds(req["M"], req["K"], req["N"], req["runs"])}
            elif req["op"] == "decode":
                answer = greedy_decode(model, vocab, req["newTokens"])
            else:
                answer = {**info, "peakRssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
        print(json.dumps(answer), flush=True)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="folder with config.json and model.safetensors")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    model = GPT2LMHeadModel.from_pretrained(args.checkpoint, local_files_only=True, dtype=torch.float32).eval()
    info = {
        "peer": f"transformers {transformers.__version__} GPT2LMHeadModel on torch {torch.__version__}",
        "attention": model.config._attn_implementation,
        "threads": torch.get_num_threads(),
        "cpuCapability": torch.backends.cpu.get_cpu_capability(),
        "blas": "mkl" if torch.backends.mkl.is_available() else "other",
        "openblasCoretype": os.environ.get("OPENBLAS_CORETYPE"),
        "loadSeconds": time.perf_counter() - t0,
    }
    serve(model, info)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
