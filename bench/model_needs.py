"""What each recommended real model pair needs: parameters, download, memory, KV cache, and CPU time.

No model hub is reachable from this project's CI, so the recommended pairs of docs/models.md were never
loaded here. This script answers what they need from their published shapes alone.

Sizes (seconds, nothing allocated): each model is built on the meta device from its `transformers` config
(the numbers of the hub's config.json, below), for the parameter count, the bf16 download, the weight
memory in bf16 (GPU) and float32 (CPU, codescaler's CPU default), and the KV cache per token and for one
request: N=8 rows x (2,048 context + 64 new) tokens for a policy (codescaler prefills the prompt once,
then repeats the cache to the N rows, so every row holds its own copy), 8 x 2,600 tokens for a reward
model. A CodeScaler reward model is a `Qwen3ForSequenceClassification`: the LM head of its base is
replaced by a one-output score head, so it has fewer parameters than its base (noticeably for the 8B,
whose head is not tied to the embeddings).

    python bench/model_needs.py --sizes-only

Measurement (CPU, float32, random weights): the model work of one ranked completion for a pair, exactly
as codescaler's transformers backends do it: the prompt's all-but-last tokens encoded once for one row,
the cache repeated to N rows, one `generate` call that samples N x max_new_tokens (with min_new_tokens
= max_new_tokens, so random weights do not stop early), then `TransformersScorer(share_prefix=True)`
scoring the N candidates (the context plus 40..120 tokens each). Random token ids stand in for the
context. One warm-up, then `--repeats` timed runs; p50 of generation (and of its one-row prefill),
scoring and the two together, and the peak RSS after loading:

    python bench/model_needs.py [--measure qwen2.5-coder-0.5b+codescaler-1.7b] [--context 1000] [--n 4]
        [--new-tokens 64] [--repeats 3] [--threads N] [--json bench/results/model_needs_cpu.json]

The defaults (the laptop pair of docs/models.md with its n=4 and 64 new tokens, a 1,000-token context,
3 repeats) take under 4 minutes on 2 cores (about 45 s per completion, building the models included);
`--measure qwen2.5-coder-1.5b+codescaler-1.7b` takes about 9. Leave OMP_NUM_THREADS unset (`--threads`
sets torch's).
Cleaning and validation are not model work: bench/bon_latency.py measures them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bon_latency import QWEN3_0_6B, summary
from bench.score_throughput import QWEN3_1_7B, timed
from engine.devtools.tiny_models import TinySpec, build_tokenizer
from engine.protocol import RankOptions

# The hub's config.json numbers. Qwen2 has no head_dim field: it is hidden_size / num_attention_heads.
QWEN2_5_CODER_0_5B = dict(
    vocab_size=151936,
    hidden_size=896,
    intermediate_size=4864,
    num_hidden_layers=24,
    num_attention_heads=14,
    num_key_value_heads=2,
    max_position_embeddings=32768,
    tie_word_embeddings=True,
)
QWEN2_5_CODER_1_5B = dict(
    vocab_size=151936,
    hidden_size=1536,
    intermediate_size=8960,
    num_hidden_layers=28,
    num_attention_heads=12,
    num_key_value_heads=2,
    max_position_embeddings=32768,
    tie_word_embeddings=True,
)
QWEN2_5_CODER_7B = dict(
    vocab_size=152064,
    hidden_size=3584,
    intermediate_size=18944,
    num_hidden_layers=28,
    num_attention_heads=28,
    num_key_value_heads=4,
    max_position_embeddings=32768,
    tie_word_embeddings=False,
)
QWEN3_4B = dict(
    vocab_size=151936,
    hidden_size=2560,
    intermediate_size=9728,
    num_hidden_layers=36,
    num_attention_heads=32,
    num_key_value_heads=8,
    head_dim=128,
    max_position_embeddings=40960,
    tie_word_embeddings=True,
)
QWEN3_8B = dict(
    vocab_size=151936,
    hidden_size=4096,
    intermediate_size=12288,
    num_hidden_layers=36,
    num_attention_heads=32,
    num_key_value_heads=8,
    head_dim=128,
    max_position_embeddings=40960,
    tie_word_embeddings=False,
)


@dataclass(frozen=True)
class Model:
    hub_id: str
    role: str  # "policy" (causal LM) or "reward" (sequence classification, one score)
    family: str  # "qwen2" or "qwen3"
    shape: dict
    note: str = ""


MODELS = {
    "qwen2.5-coder-0.5b": Model("Qwen/Qwen2.5-Coder-0.5B", "policy", "qwen2", QWEN2_5_CODER_0_5B),
    "qwen2.5-coder-1.5b": Model("Qwen/Qwen2.5-Coder-1.5B", "policy", "qwen2", QWEN2_5_CODER_1_5B),
    "qwen2.5-coder-7b": Model("Qwen/Qwen2.5-Coder-7B", "policy", "qwen2", QWEN2_5_CODER_7B),
    "qwen3-0.6b": Model(
        "Qwen/Qwen3-0.6B",
        "policy",
        "qwen3",
        QWEN3_0_6B,
        "the stand-in policy of bon_latency.py --device cuda",
    ),
    "codescaler-1.7b": Model("LARK-Lab/CodeScaler-1.7B", "reward", "qwen3", QWEN3_1_7B),
    "codescaler-4b": Model("LARK-Lab/CodeScaler-4B", "reward", "qwen3", QWEN3_4B),
    "codescaler-8b": Model("LARK-Lab/CodeScaler-8B", "reward", "qwen3", QWEN3_8B),
}

# docs/models.md, "Recommended pairs": (policy, reward model, where)
PAIRS = {
    "qwen2.5-coder-0.5b+codescaler-1.7b": ("qwen2.5-coder-0.5b", "codescaler-1.7b", "a laptop CPU"),
    "qwen2.5-coder-1.5b+codescaler-1.7b": ("qwen2.5-coder-1.5b", "codescaler-1.7b", "one GPU (16 GB+)"),
    "qwen2.5-coder-7b+codescaler-1.7b": ("qwen2.5-coder-7b", "codescaler-1.7b", "one GPU (24 GB+)"),
    "qwen2.5-coder-7b+codescaler-4b": ("qwen2.5-coder-7b", "codescaler-4b", "a GPU host (team)"),
    "qwen2.5-coder-7b+codescaler-8b": ("qwen2.5-coder-7b", "codescaler-8b", "a GPU host (team)"),
}
MEASURABLE = ("qwen2.5-coder-0.5b+codescaler-1.7b", "qwen2.5-coder-1.5b+codescaler-1.7b")


def build(name: str, *, as_base_lm: bool = False, pad_token_id: int = 0):
    """`name`'s model from its config, in the current default device and dtype (random weights).
    `as_base_lm` builds a reward model's causal-LM base instead (to show what the score head changes)."""
    from transformers import (
        Qwen2Config,
        Qwen2ForCausalLM,
        Qwen3Config,
        Qwen3ForCausalLM,
        Qwen3ForSequenceClassification,
    )

    spec = MODELS[name]
    config_class, lm_class = (
        (Qwen2Config, Qwen2ForCausalLM) if spec.family == "qwen2" else (Qwen3Config, Qwen3ForCausalLM)
    )
    if spec.role == "reward" and not as_base_lm:
        return Qwen3ForSequenceClassification(
            config_class(**spec.shape, num_labels=1, pad_token_id=pad_token_id)
        ).eval()
    return lm_class(config_class(**spec.shape, pad_token_id=pad_token_id, eos_token_id=pad_token_id)).eval()


def kv_bytes_per_token(shape: dict, bytes_per_value: int) -> int:
    head_dim = shape.get("head_dim") or shape["hidden_size"] // shape["num_attention_heads"]
    return 2 * shape["num_hidden_layers"] * shape["num_key_value_heads"] * head_dim * bytes_per_value


def sizes(args: argparse.Namespace) -> dict[str, dict]:
    import torch

    table = {}
    for name, spec in MODELS.items():
        with torch.device("meta"):
            model = build(name)
            base = build(name, as_base_lm=True) if spec.role == "reward" else model
        params = sum(p.numel() for p in model.parameters())  # tied weights count once
        embedding = model.get_input_embeddings().weight.numel()
        if spec.role == "policy":
            rows, tokens = args.kv_rows, args.kv_context + args.kv_new_tokens
        else:
            rows, tokens = args.kv_rows, args.reward_kv_tokens
        kv16, kv32 = kv_bytes_per_token(spec.shape, 2), kv_bytes_per_token(spec.shape, 4)
        table[name] = {
            "hub_id": spec.hub_id,
            "role": spec.role,
            "architecture": type(model).__name__,
            "note": spec.note,
            "shape": spec.shape,
            "params": params,
            "embedding_params": embedding,
            "non_embedding_params": params - embedding,
            "base_lm_params": sum(p.numel() for p in base.parameters()),
            "download_bf16_gb": params * 2 / 1e9,
            "weights_bf16_gb": params * 2 / 1e9,
            "weights_fp32_gb": params * 4 / 1e9,
            "kv_bytes_per_token_bf16": kv16,
            "kv_bytes_per_token_fp32": kv32,
            "kv_request_rows": rows,
            "kv_request_tokens_per_row": tokens,
            "kv_request_bf16_gb": rows * tokens * kv16 / 1e9,
            "kv_request_fp32_gb": rows * tokens * kv32 / 1e9,
        }
        del model, base
    return table


def pair_needs(table: dict[str, dict]) -> dict[str, dict]:
    needs = {}
    for pair, (policy, reward, where) in PAIRS.items():
        p, r = table[policy], table[reward]
        needs[pair] = {"where": where, "policy": policy, "reward_model": reward}
        for precision in ("bf16", "fp32"):
            weights = p[f"weights_{precision}_gb"] + r[f"weights_{precision}_gb"]
            kv = p[f"kv_request_{precision}_gb"] + r[f"kv_request_{precision}_gb"]
            needs[pair] |= {
                f"weights_{precision}_gb": weights,
                f"kv_request_{precision}_gb": kv,
                f"total_{precision}_gb": weights + kv,
            }
        needs[pair]["download_bf16_gb"] = p["download_bf16_gb"] + r["download_bf16_gb"]
    return needs


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9  # ru_maxrss is KiB on Linux


def measure(args: argparse.Namespace) -> dict:
    import torch

    from engine.generation.transformers_backend import TransformersGenerator
    from engine.reward.transformers_backend import TransformersScorer

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    tokenizer = build_tokenizer(TinySpec(corpus_bytes=300_000))
    policy_name, reward_name, _ = PAIRS[args.measure]
    rss_before = peak_rss_gb()
    load_s, (policy, reward) = timed(lambda: (build(policy_name), build(reward_name)))
    rss_loaded = peak_rss_gb()
    print(f"built {policy_name} and {reward_name} (float32) in {load_s:.1f}s", flush=True)
    generator = TransformersGenerator(policy, tokenizer)
    scorer = TransformersScorer(reward, tokenizer, share_prefix=True)

    rng = random.Random(0)
    context = [rng.randrange(1, 150000) for _ in range(args.context)]
    input_ids = torch.tensor([context])
    inputs = {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids)}
    n = args.n

    def generate(seed: int) -> dict:
        """TransformersGenerator._generate's model work (its `generate()` path), the prefill timed apart."""
        rows = {key: value.repeat(n, 1) for key, value in inputs.items()}
        with torch.random.fork_rng(devices=[]), torch.inference_mode():
            torch.manual_seed(seed)
            prefill_s, cache = timed(lambda: generator._prompt_cache(input_ids, n))
            output = policy.generate(
                **rows,
                do_sample=True,
                temperature=args.temperature,
                top_p=args.top_p,
                past_key_values=cache,
                max_new_tokens=args.new_tokens,
                min_new_tokens=args.new_tokens,
                eos_token_id=[tokenizer.eos_token_id],
                pad_token_id=generator.pad_token_id,
                return_dict_in_generate=True,
                output_logits=True,
            )
        with torch.inference_mode():
            new_tokens = output.sequences[:, args.context :]
            steps = torch.stack(output.logits, dim=1).float().log_softmax(-1)
            steps.gather(-1, new_tokens[:, : steps.shape[1], None]).squeeze(-1)
        return {"prefill_s": prefill_s, "new_tokens": new_tokens}

    def one_completion(seed: int) -> dict:
        generation_s, generated = timed(lambda: generate(seed))
        assert generated["new_tokens"].shape == (n, args.new_tokens), generated["new_tokens"].shape
        candidates = [
            context + [rng.randrange(1, 150000) for _ in range(rng.randint(40, 120))] for _ in range(n)
        ]
        scoring_s, scores = timed(lambda: scorer.score_token_ids(candidates))
        assert len(scores) == n
        return {"generation_s": generation_s, "prefill_s": generated["prefill_s"], "scoring_s": scoring_s}

    started = time.perf_counter()
    warm = one_completion(0)
    print(f"warm-up: {warm}", flush=True)
    runs = []
    for seed in range(1, args.repeats + 1):
        runs.append(one_completion(seed))
        print(f"run {seed}: {runs[-1]}", flush=True)
    generation = summary([run["generation_s"] for run in runs])
    prefill = summary([run["prefill_s"] for run in runs])
    decode_s = generation["p50_s"] - prefill["p50_s"]
    return {
        "pair": args.measure,
        "policy": MODELS[policy_name].hub_id,
        "reward_model": MODELS[reward_name].hub_id,
        "dtype": "float32",
        "attn_implementation": {
            "policy": policy.config._attn_implementation,
            "reward_model": reward.config._attn_implementation,
        },
        "build_s": load_s,
        "peak_rss_before_load_gb": rss_before,
        "peak_rss_after_load_gb": rss_loaded,
        "peak_rss_end_gb": peak_rss_gb(),
        "warm_up": warm,
        "runs": runs,
        "generation": generation,
        "generation_prefill": prefill,
        "decode_tokens_per_s_p50": n * args.new_tokens / decode_s if decode_s > 0 else None,
        "scoring": summary([run["scoring_s"] for run in runs]),
        "total": summary([run["generation_s"] + run["scoring_s"] for run in runs]),
        "measure_wall_s": time.perf_counter() - started,
    }


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def markdown(report: dict) -> str:
    lines = [
        "| model | role | params | download bf16 GB | weights bf16 GB | weights fp32 GB "
        "| KV/token bf16 KiB | KV/token fp32 KiB | KV request (rows x tokens) | KV request bf16 GB "
        "| KV request fp32 GB |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for row in report["sizes"].values():
        role = row["role"] + (f" ({row['note']})" if row["note"] else "")
        if row["role"] == "reward":
            role += f"; base LM {row['base_lm_params'] / 1e9:.3f}B"
        lines.append(
            f"| `{row['hub_id']}` | {role} | {row['params'] / 1e9:.3f}B | {row['download_bf16_gb']:.2f} "
            f"| {row['weights_bf16_gb']:.2f} | {row['weights_fp32_gb']:.2f} "
            f"| {row['kv_bytes_per_token_bf16'] / 1024:.0f} | {row['kv_bytes_per_token_fp32'] / 1024:.0f} "
            f"| {row['kv_request_rows']} x {row['kv_request_tokens_per_row']:,} "
            f"| {row['kv_request_bf16_gb']:.2f} | {row['kv_request_fp32_gb']:.2f} |"
        )
    lines += [
        "",
        "| pair | where | download GB | bf16 (GPU): weights + KV = GB | float32 (CPU): weights + KV = GB |",
        "|---|---|---:|---|---|",
    ]
    for pair, row in report["pairs"].items():
        lines.append(
            f"| {pair} | {row['where']} | {row['download_bf16_gb']:.1f} "
            f"| {row['weights_bf16_gb']:.1f} + {row['kv_request_bf16_gb']:.2f} = {row['total_bf16_gb']:.1f} "
            f"| {row['weights_fp32_gb']:.1f} + {row['kv_request_fp32_gb']:.2f} = {row['total_fp32_gb']:.1f} |"
        )
    m = report.get("measurement")
    if m:
        s = report["settings"]
        lines += [
            "",
            f"Measured: {m['pair']} (float32, random weights) on {report['cpu']}, {report['threads']} torch "
            f"threads; context {s['context']} tokens, n={s['n']}, {s['new_tokens']} new tokens, "
            f"{s['repeats']} runs after a warm-up. "
            f"Peak RSS after loading {m['peak_rss_after_load_gb']:.2f} GB "
            f"(at the end {m['peak_rss_end_gb']:.2f} GB).",
            "",
            "| stage | p50 s | mean s | p95 s |",
            "|---|---:|---:|---:|",
        ]
        for label, key in (
            ("generation (prefill + decode)", "generation"),
            ("  of which one-row prefill", "generation_prefill"),
            ("scoring (shared prefix)", "scoring"),
            ("generation + scoring", "total"),
        ):
            row = m[key]
            lines.append(f"| {label} | {row['p50_s']:.2f} | {row['mean_s']:.2f} | {row['p95_s']:.2f} |")
        if m["decode_tokens_per_s_p50"]:
            lines.append(f"\nDecode: {m['decode_tokens_per_s_p50']:.1f} tokens/s over the {s['n']} rows.")
    return "\n".join(lines)


def main() -> None:
    defaults = RankOptions()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes-only", action="store_true", help="skip the CPU measurement")
    parser.add_argument(
        "--measure", choices=MEASURABLE, default=MEASURABLE[0], help="pair to time on the CPU"
    )
    parser.add_argument("--context", type=int, default=1000, help="context tokens (random ids)")
    parser.add_argument("--n", type=int, default=4, help="candidates (docs/models.md's laptop setting)")
    parser.add_argument(
        "--new-tokens", type=int, default=defaults.max_new_tokens, help="tokens per candidate"
    )
    parser.add_argument("--temperature", type=float, default=defaults.temperature)
    parser.add_argument("--top-p", type=float, default=defaults.top_p)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs after one warm-up")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads")
    parser.add_argument("--kv-rows", type=int, default=8, help="sizes: rows of the per-request KV cache")
    parser.add_argument("--kv-context", type=int, default=2048, help="sizes: policy context tokens")
    parser.add_argument("--kv-new-tokens", type=int, default=64, help="sizes: policy new tokens")
    parser.add_argument("--reward-kv-tokens", type=int, default=2600, help="sizes: tokens per scored row")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if args.context < 2:
        parser.error("--context must be at least 2 tokens")

    import torch
    import transformers

    started = time.perf_counter()
    table = sizes(args)
    report: dict = {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "threads": args.threads,
        "omp_num_threads_env": os.environ.get("OMP_NUM_THREADS"),
        "settings": {
            key: str(value) if isinstance(value, Path) else value for key, value in vars(args).items()
        },
        "sizes": table,
        "pairs": pair_needs(table),
        "sizes_s": time.perf_counter() - started,
    }
    if not args.sizes_only:
        report["measurement"] = measure(args)
        report["threads"] = torch.get_num_threads()
    report["wall_s"] = time.perf_counter() - started
    print(markdown(report))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
