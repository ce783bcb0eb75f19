"""End-to-end best-of-N latency: where the time of one ranked completion goes.

CPU mode (default) uses the tiny models: N=8 candidates of 64 new tokens at a cursor in a Python file,
in-process (`BestOfN.complete`) and through `codescaler serve` (a subprocess, over websockets). Prints
p50/p95 of the whole request and the mean split into generation, cleaning, validation and scoring:

    python bench/bon_latency.py [--requests 20]

GPU mode times the model work at production shapes with random bf16 weights: a Qwen3-0.6B-shaped policy
sampling N=8 x 64 new tokens after a 1,500-token context (plain `generate`, `generate` with a static KV
cache and `torch.compile`, and codescaler's `GraphSampler`, with its one-row prefill timed apart), and a
Qwen3-1.7B-shaped reward model scoring the 8 candidates, with and without prefix sharing. Cleaning and
validation are CPU work: the CPU mode measures them.

    python bench/bon_latency.py --device cuda [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.score_throughput import QWEN3_1_7B, timed
from engine.devtools.tiny_models import TinySpec, build_tokenizer

QWEN3_0_6B = dict(
    vocab_size=151936,
    hidden_size=1024,
    intermediate_size=3072,
    num_hidden_layers=28,
    num_attention_heads=16,
    num_key_value_heads=8,
    head_dim=128,
    max_position_embeddings=40960,
    tie_word_embeddings=True,
)

DOCUMENT = '''import math
from dataclasses import dataclass


@dataclass
class Circle:
    """A circle in the plane."""

    x: float
    y: float
    r: float

    def area(self) -> float:
        """The area of the circle."""
        return █

    def contains(self, px: float, py: float) -> bool:
        return (px - self.x) ** 2 + (py - self.y) ** 2 <= self.r**2


def total_area(circles: list[Circle]) -> float:
    return sum(c.area() for c in circles)
'''


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50_s": statistics.median(ordered),
        "p95_s": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
        "mean_s": statistics.fmean(ordered),
    }


def bench_cpu(args: argparse.Namespace) -> dict:
    import torch

    from engine.best_of_n import BestOfN
    from engine.devtools.tiny_models import build_tiny_models
    from engine.document import DocumentContext
    from engine.generation.transformers_backend import TransformersGenerator
    from engine.protocol import Document, RankOptions, RankRequest
    from engine.reward.transformers_backend import TransformersScorer
    from engine.serve.client import RemoteRanker

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        models = build_tiny_models(tmp)
        engine = BestOfN(
            TransformersGenerator.from_pretrained(str(models["policy"])),
            TransformersScorer.from_pretrained(str(models["reward"])),
        )
        context = DocumentContext.at_marker(DOCUMENT, "█", path="circle.py")
        options = [RankOptions(n=8, max_new_tokens=64, seed=seed) for seed in range(args.requests + 2)]
        engine.complete(context, options[0])  # warm-up
        totals, stages = [], {}
        for option in options[2:]:
            seconds, result = timed(lambda o=option: engine.complete(context, o))
            totals.append(seconds)
            for stage, value in result.timings.items():
                stages.setdefault(stage, []).append(value)
        report = {
            "device": "cpu (1 torch thread)",
            "in_process": summary(totals),
            "stage_mean_s": {stage: statistics.fmean(values) for stage, values in stages.items()},
        }

        port = _free_port()
        server = subprocess.Popen(
            [str(Path(sys.executable).with_name("codescaler")), "serve", "--policy", str(models["policy"]),
             "--reward-model", str(models["reward"]), "--port", str(port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )  # fmt: skip
        try:
            client = _connect(f"ws://127.0.0.1:{port}", RemoteRanker)
            requests = [RankRequest.of(option, document=Document.at(context)) for option in options]
            client.rank(requests[0])
            service = []
            for request in requests[2:]:
                seconds, _ = timed(lambda r=request: client.rank(r))
                service.append(seconds)
            client.close()
            report["through_service"] = summary(service)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=60)
    return report


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _connect(url: str, client_class):
    deadline = time.monotonic() + 180
    while True:
        try:
            return client_class(url, timeout_s=300)
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def bench_cuda(args: argparse.Namespace) -> dict:
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM, Qwen3ForSequenceClassification

    from engine.reward.transformers_backend import TransformersScorer

    torch.manual_seed(0)
    sync = torch.cuda.synchronize
    tokenizer = build_tokenizer(TinySpec(corpus_bytes=300_000))
    torch.set_default_dtype(torch.bfloat16)
    with torch.device("cuda"):
        policy = Qwen3ForCausalLM(Qwen3Config(**QWEN3_0_6B, pad_token_id=0, eos_token_id=0)).eval()
        reward = Qwen3ForSequenceClassification(
            Qwen3Config(**QWEN3_1_7B, num_labels=1, pad_token_id=0)
        ).eval()
    torch.set_default_dtype(torch.float32)
    rng = random.Random(0)
    context = torch.tensor([[rng.randrange(1, 150000) for _ in range(args.context)]], device="cuda")
    report: dict = {
        "device": torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "context_tokens": args.context,
    }

    def generate(**extra):
        with torch.inference_mode():
            return policy.generate(
                input_ids=context, do_sample=True, temperature=0.8, top_p=0.95, max_new_tokens=64,
                min_new_tokens=64, num_return_sequences=8, pad_token_id=0, **extra,
            )  # fmt: skip

    variants = (("eager", {}), ("static_cache_compiled", {"cache_implementation": "static"}))
    for name, extra in variants if args.hf_generate else ():
        try:
            warm_s, _ = timed(lambda e=extra: generate(**e), sync)
            runs = [timed(lambda e=extra: generate(**e), sync)[0] for _ in range(args.repeats)]
            report[f"generation_{name}"] = {**summary(runs), "first_call_s": warm_s}
            print(name, report[f"generation_{name}"], flush=True)
        except Exception as exc:  # report and go on: one failing variant must not hide the others
            report[f"generation_{name}"] = {"error": f"{type(exc).__name__}: {exc}"[:300]}

    from engine.generation.graph_sampler import GraphSampler

    try:
        sampler = GraphSampler(policy, max_cache_len=args.context + 128)
        ids = context[0].tolist()
        warm_s, _ = timed(lambda: sampler.sample(ids, 8, 64, 0.8, 0.95, seed=0), sync)
        runs = [
            timed(lambda i=i: sampler.sample(ids, 8, 64, 0.8, 0.95, seed=i), sync)[0]
            for i in range(args.repeats)
        ]
        with torch.inference_mode():  # the one-row prefill and the copy into the 8 rows, alone
            prefill = [timed(lambda: sampler._prefill(ids, 8, "cuda"), sync)[0] for _ in range(args.repeats)]
        from torch._dynamo.utils import counters

        # Is the graph right? The log-probabilities it reports for its own draws against one plain forward
        # over the prompt and the drawn tokens (bf16: differences of a few hundredths are rounding).
        tokens, logprobs = sampler.sample(ids, 8, 64, 0.8, 0.95, seed=123)
        with torch.inference_mode():
            full = policy(torch.cat([context, tokens[:1]], dim=1)).logits[0, args.context - 1 : -1]
            reference = full.float().log_softmax(-1).gather(-1, tokens[0, :, None]).squeeze(-1)
        report["generation_graph_sampler"] = {
            **summary(runs),
            "first_call_s": warm_s,
            "prefill": summary(prefill),
            "cudagraph_skips": dict(counters["inductor"]).get("cudagraph_skips", 0),
            "logprob_max_error_vs_forward": (logprobs[0] - reference).abs().max().item(),
        }
        print("graph_sampler", report["generation_graph_sampler"], flush=True)
    except Exception as exc:
        report["generation_graph_sampler"] = {"error": f"{type(exc).__name__}: {exc}"[:300]}

    candidates = [
        context[0].tolist() + [rng.randrange(1, 150000) for _ in range(rng.randint(40, 120))]
        for _ in range(8)
    ]
    for name, share in (("scoring_plain", False), ("scoring_shared_prefix", True)):
        scorer = TransformersScorer(reward, tokenizer, share_prefix=share)
        scorer.score_token_ids(candidates)
        runs = [timed(lambda s=scorer: s.score_token_ids(candidates), sync)[0] for _ in range(args.repeats)]
        report[name] = summary(runs)
        print(name, report[name], flush=True)
    report["shared_prefix_speedup"] = (
        report["scoring_plain"]["p50_s"] / report["scoring_shared_prefix"]["p50_s"]
    )
    return report


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--requests", type=int, default=20, help="CPU mode: timed requests per path")
    parser.add_argument("--context", type=int, default=1500, help="GPU mode: context tokens")
    parser.add_argument("--repeats", type=int, default=5, help="GPU mode: timed repeats per variant")
    parser.add_argument(
        "--no-hf-generate", dest="hf_generate", action="store_false", help="GPU mode: skip generate()"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    result = bench_cuda(args) if args.device == "cuda" else bench_cpu(args)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
