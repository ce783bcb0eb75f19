"""Reward-model scoring throughput: codescaler's transformers backend against plain loops.

CPU mode (default) scores MBPP+ (question, reference solution) pairs with the tiny reward model, first one
pair at a time (the naive loop), then through `TransformersScorer` (length-sorted, mask-free batches):

    python bench/score_throughput.py

GPU mode builds a Qwen3-1.7B-shaped reward model with random bf16 weights and scores random token
sequences of realistic lengths. It prints tokens/s and the fraction of the FLOP ceiling, where the ceiling
is (measured bf16 matmul rate) / (2 x non-embedding parameters) tokens/s:

    python bench/score_throughput.py --device cuda [--compile] [--json results.json]

Three GPU variants run on the same sequences: one at a time, "plain" padded batches (input order, left
padding, attention mask: what a straightforward transformers script does), and codescaler's scorer.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.devtools.tiny_models import TinySpec, build_tiny_models, build_tokenizer
from engine.reward.transformers_backend import TransformersScorer

MBPP = Path(__file__).resolve().parents[2] / "shared" / "data" / "MbppPlus.json"

TINY_SHAPE = dict(
    vocab_size=4096, hidden_size=128, intermediate_size=384, num_hidden_layers=2,
    num_attention_heads=4, num_key_value_heads=2, head_dim=32, max_position_embeddings=4096,
)  # fmt: skip
QWEN3_1_7B = dict(
    vocab_size=151936,
    hidden_size=2048,
    intermediate_size=6144,
    num_hidden_layers=28,
    num_attention_heads=16,
    num_key_value_heads=8,
    head_dim=128,
    max_position_embeddings=40960,
    tie_word_embeddings=True,
)


def timed(fn, sync=lambda: None) -> tuple[float, object]:
    sync()
    start = time.perf_counter()
    result = fn()
    sync()
    return time.perf_counter() - start, result


def mbpp_pairs(limit: int) -> list[tuple[str, str]]:
    """(question, reference solution) pairs from MBPP+, or synthetic ones when the data is absent."""
    if MBPP.exists():
        rows = json.loads(MBPP.read_text())
        rows = rows if isinstance(rows, list) else list(rows.values())
        return [(row["prompt"], row["canonical_solution"]) for row in rows[:limit]]
    rng = random.Random(0)
    return [
        (f"Task {i}: " + "describe " * rng.randint(10, 200), "x = 1\n" * rng.randint(1, 60))
        for i in range(limit)
    ]


def one_at_a_time(model, token_ids) -> list[float]:
    import torch

    device = next(model.parameters()).device
    with torch.inference_mode():
        return [
            model(input_ids=torch.tensor([ids], device=device)).logits[0, 0].float().item()
            for ids in token_ids
        ]


def bench_cpu(args: argparse.Namespace) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.model or build_tiny_models(tmp)["reward"]
        scorer = TransformersScorer.from_pretrained(str(folder), device="cpu")
        inputs = scorer.format(mbpp_pairs(args.pairs))
        token_ids = [item.token_ids for item in inputs]
        tokens = sum(map(len, token_ids))
        scorer.score_token_ids(token_ids[:8])  # warm-up
        naive_s, naive = timed(lambda: one_at_a_time(scorer.model, token_ids))
        batched_s, batched = timed(lambda: scorer.score_token_ids(token_ids))
    return {
        "device": "cpu",
        "threads": args.threads,
        "pairs": len(token_ids),
        "tokens": tokens,
        "mean_length": tokens / len(token_ids),
        "naive_tokens_per_s": tokens / naive_s,
        "scorer_tokens_per_s": tokens / batched_s,
        "speedup": naive_s / batched_s,
        "max_abs_diff": max(abs(a - b) for a, b in zip(naive, batched, strict=True)),
    }


def matmul_tflops(torch, device: str, sync, size: int = 8192, repeats: int = 30) -> float:
    a = torch.randn(size, size, device=device, dtype=torch.bfloat16)
    b = torch.randn(size, size, device=device, dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    seconds, _ = timed(lambda: [a @ b for _ in range(repeats)], sync)
    return 2 * size**3 * repeats / seconds / 1e12


def plain_padded_batches(model, token_ids, batch_size: int, pad_id: int) -> list[float]:
    """What a straightforward script does: input order, left padding, an attention mask."""
    import torch

    scores = []
    with torch.inference_mode():
        for start in range(0, len(token_ids), batch_size):
            batch = token_ids[start : start + batch_size]
            width = max(map(len, batch))
            ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, seq in enumerate(batch):
                ids[row, width - len(seq) :] = torch.tensor(seq)
                mask[row, width - len(seq) :] = 1
            device = next(model.parameters()).device
            logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
            scores.extend(logits[:, 0].float().tolist())
    return scores


def bench_cuda(args: argparse.Namespace) -> dict:
    """GPU mode; `--shape tiny` runs the same steps on small sizes anywhere (a smoke test of this path)."""
    import torch
    from transformers import Qwen3Config, Qwen3ForSequenceClassification

    device = "cuda" if torch.cuda.is_available() else "cpu"
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    torch.manual_seed(0)
    tokenizer = build_tokenizer(TinySpec(corpus_bytes=300_000))
    shape = QWEN3_1_7B if args.shape == "qwen3-1.7b" else TINY_SHAPE
    config = Qwen3Config(**shape, num_labels=1, pad_token_id=tokenizer.pad_token_id)
    torch.set_default_dtype(torch.bfloat16)
    with torch.device(device):
        model = Qwen3ForSequenceClassification(config).eval()
    torch.set_default_dtype(torch.float32)
    non_embedding = sum(p.numel() for p in model.parameters()) - model.model.embed_tokens.weight.numel()
    tflops = matmul_tflops(
        torch, device, sync, size=8192 if device == "cuda" else 512, repeats=30 if device == "cuda" else 3
    )
    ceiling = tflops * 1e12 / (2 * non_embedding)

    rng = random.Random(0)
    lengths = [
        min(args.max_length, max(64, int(rng.lognormvariate(6.2, 0.6)))) for _ in range(args.sequences)
    ]
    token_ids = [[rng.randrange(1, config.vocab_size) for _ in range(n)] for n in lengths]
    tokens = sum(lengths)
    result: dict = {
        "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        "shape": args.shape,
        "torch": torch.__version__,
        "non_embedding_params": non_embedding,
        "matmul_tflops": tflops,
        "ceiling_tokens_per_s": ceiling,
        "sequences": len(lengths),
        "tokens": tokens,
        "length_median": statistics.median(lengths),
        "length_mean": tokens / len(lengths),
    }

    def record(name: str, seconds: float, count: int) -> None:
        result[name] = {"tokens_per_s": count / seconds, "fraction_of_ceiling": count / seconds / ceiling}
        print(
            f"{name:>24}: {count / seconds:>10,.0f} tokens/s  {count / seconds / ceiling:6.1%} of ceiling",
            flush=True,
        )

    subset = token_ids[: args.naive_sequences]
    one_at_a_time(model, subset[:4])
    seconds, naive = timed(lambda: one_at_a_time(model, subset), sync)
    record("one_at_a_time", seconds, sum(map(len, subset)))

    plain_padded_batches(model, token_ids[:64], 32, config.pad_token_id)
    seconds, plain = timed(lambda: plain_padded_batches(model, token_ids, 32, config.pad_token_id), sync)
    record("plain_padded_batches", seconds, tokens)

    for budget in args.batch_tokens:
        scorer = TransformersScorer(model, tokenizer, max_batch_tokens=budget)
        scorer.score_token_ids(token_ids[:256])
        seconds, ours = timed(lambda s=scorer: s.score_token_ids(token_ids), sync)
        record(f"codescaler_{budget // 1024}k", seconds, tokens)
    result["max_abs_diff_vs_one_at_a_time"] = max(
        abs(a - b) for a, b in zip(ours[: len(naive)], naive, strict=True)
    )
    result["max_abs_diff_plain_vs_one_at_a_time"] = max(
        abs(a - b) for a, b in zip(plain[: len(naive)], naive, strict=True)
    )

    if args.compile:
        scorer = TransformersScorer(model, tokenizer, max_batch_tokens=args.batch_tokens[-1], compile=True)
        compile_s, _ = timed(lambda: scorer.score_token_ids(token_ids[:512]), sync)
        result["compile_warmup_s"] = compile_s
        seconds, _ = timed(lambda: scorer.score_token_ids(token_ids), sync)
        record("codescaler_compiled", seconds, tokens)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--model", help="CPU mode: reward model folder (default: build the tiny one)")
    parser.add_argument("--pairs", type=int, default=128, help="CPU mode: MBPP+ pairs to score")
    parser.add_argument("--threads", type=int, default=1, help="CPU mode: torch threads")
    parser.add_argument(
        "--shape", choices=["qwen3-1.7b", "tiny"], default="qwen3-1.7b", help="GPU mode: model shape"
    )
    parser.add_argument("--sequences", type=int, default=2048, help="GPU mode: sequences to score")
    parser.add_argument("--max-length", type=int, default=4096, help="GPU mode: longest sequence")
    parser.add_argument(
        "--naive-sequences", type=int, default=256, help="GPU mode: sequences for the naive loop"
    )
    parser.add_argument("--batch-tokens", type=int, nargs="+", default=[32768, 65536, 131072])
    parser.add_argument("--compile", action="store_true", help="GPU mode: also time torch.compile")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    result = bench_cuda(args) if args.device == "cuda" else bench_cpu(args)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
