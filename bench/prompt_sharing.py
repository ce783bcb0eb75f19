"""What encoding the prompt once saves on a CPU: N samples of one prompt with the prompt's KV cache computed
for one row and repeated (what `TransformersGenerator` does), against `generate(num_return_sequences=N)`,
which encodes the prompt N times. Random weights of a small Qwen3 shape (8 layers of 512, with the 4,096-token
tiny vocabulary), float32, one thread by default; N=8 samples of 32 new tokens after the first 250, 1,000
and 2,000 tokens of `inspect.py`:

    python bench/prompt_sharing.py [--contexts 250 1000 2000] [--repeats 3] [--threads 1] [--json out.json]

Both sides sample the same tokens (the same seeded draws; a test checks it), so the difference is the
prefill alone.
"""

from __future__ import annotations

import argparse
import inspect
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.score_throughput import timed
from engine.devtools.tiny_models import TinySpec, build_tokenizer, qwen3_config

SHAPE = dict(hidden_size=512, intermediate_size=1536, num_hidden_layers=8, num_attention_heads=8,
             num_key_value_heads=4, head_dim=64, max_position_embeddings=4096)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contexts", type=int, nargs="+", default=[250, 1000, 2000])
    parser.add_argument("-n", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    import torch
    from transformers import Qwen3ForCausalLM

    from engine.generation.base import SamplingOptions
    from engine.generation.transformers_backend import TransformersGenerator

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    tokenizer = build_tokenizer(TinySpec(corpus_bytes=300_000))
    model = Qwen3ForCausalLM(qwen3_config(tokenizer, **SHAPE)).eval()
    generator = TransformersGenerator(model, tokenizer)
    source = tokenizer(Path(inspect.__file__).read_text())["input_ids"]  # real code, not random ids
    report: dict = {
        "threads": args.threads,
        "parameters": sum(p.numel() for p in model.parameters()),
        "n": args.n,
        "max_new_tokens": args.max_new_tokens,
        "contexts": {},
    }
    options = SamplingOptions(n=args.n, max_new_tokens=args.max_new_tokens, seed=0)
    for context in args.contexts:
        text = tokenizer.decode(source[:context])

        def plain(text=text):
            with torch.random.fork_rng(), torch.inference_mode():
                torch.manual_seed(options.seed)  # as the generator seeds: both draw the same tokens
                return model.generate(
                    **tokenizer(text, return_tensors="pt"), do_sample=True, temperature=options.temperature,
                    top_p=options.top_p, max_new_tokens=options.max_new_tokens, num_return_sequences=options.n,
                    pad_token_id=tokenizer.pad_token_id,
                )  # fmt: skip

        def shared(text=text):
            return generator.generate(text, options)

        times = {
            name: [timed(fn)[0] for _ in range(args.repeats)]
            for name, fn in (("plain", plain), ("shared", shared))
        }
        row = {name: statistics.median(values) for name, values in times.items()}
        row["speedup"] = row["plain"] / row["shared"]
        report["contexts"][context] = row
        print(f"context {context:5d}: generate(num_return_sequences) {row['plain']:.2f} s, prompt encoded once "
              f"{row['shared']:.2f} s ({row['speedup']:.2f}x)", flush=True)  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
