"""Tiny but complete models for tests, demos and benchmarks, built from a config in seconds.

No model hub is reachable from CI, so every test that needs a model builds these: a byte-level BPE
tokenizer trained on this interpreter's standard library (ChatML template, FIM tokens, pad == eos as in
Qwen), a tiny Qwen3 causal LM (`policy/`) and a tiny `Qwen3ForSequenceClassification` reward model
(`reward/`), each saved with `save_pretrained` as a folder any `from_pretrained` (or vLLM) can load.
Everything is seeded: the same interpreter gives byte-identical folders.

The weights are random: the models exercise the real code paths, they do not write good code.
"""

from __future__ import annotations

import os
import shutil
import sysconfig
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|fim_prefix|>",
    "<|fim_middle|>",
    "<|fim_suffix|>",
    "<|fim_pad|>",
    "<|repo_name|>",
    "<|file_sep|>",
]
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


@dataclass(frozen=True)
class TinySpec:
    """Sizes of the tiny models. head_dim must be one vLLM's CPU attention supports (32, 64, ...)."""

    vocab_size: int = 4096
    corpus_bytes: int = 6_000_000
    hidden_size: int = 128
    intermediate_size: int = 384
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    head_dim: int = 32
    max_position_embeddings: int = 4096
    score_head_std: float = 0.5
    seed: int = 0


def stdlib_files(max_bytes: int) -> Iterator[tuple[str, str]]:
    """(path relative to the stdlib root, text) of the interpreter's own standard-library sources, tests
    left out, in a fixed order, up to `max_bytes` characters in all."""
    root = Path(sysconfig.get_paths()["stdlib"])
    total = 0
    for path in sorted(root.rglob("*.py")):
        if "site-packages" in path.parts or "test" in path.parts:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        total += len(text)
        if total > max_bytes:
            return
        yield path.relative_to(root).as_posix(), text


def train_tokenizer(texts: Iterable[str], vocab_size: int, model_max_length: int):
    """A byte-level BPE tokenizer with chat and FIM special tokens (Qwen's spellings, so the engine detects
    its FIM template), wrapped for `transformers`."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(texts, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        eos_token="<|endoftext|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=SPECIAL_TOKENS[1:],
        model_max_length=model_max_length,
    )
    tokenizer.chat_template = CHATML_TEMPLATE
    return tokenizer


def build_tokenizer(spec: TinySpec):
    """The tiny models' tokenizer, trained on the first `spec.corpus_bytes` of the standard library."""
    texts = (text for _, text in stdlib_files(spec.corpus_bytes))
    return train_tokenizer(texts, spec.vocab_size, spec.max_position_embeddings)


def build_tiny_models(out_dir: str | Path, spec: TinySpec = TinySpec()) -> dict[str, Path]:
    """Write `policy/` and `reward/` model folders under `out_dir`; returns their paths.

    The folders are built beside their destination and moved into place only when complete, so an
    interrupted build never leaves a half-written model where a complete one is expected.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".tiny-models-", dir=out) as staging:
        built = _build_into(Path(staging), spec)
        for name, folder in built.items():
            target = out / name
            if target.exists():
                shutil.rmtree(target)
            os.replace(folder, target)
    return {name: out / name for name in built}


def qwen3_config(tokenizer, **fields):
    """A `Qwen3Config` with `fields` (sizes, tying, labels) over the tokenizer's vocabulary, with its end
    token as BOS and EOS and its pad token, as Qwen's own configs have them."""
    from transformers import Qwen3Config

    eos = tokenizer.eos_token_id
    return Qwen3Config(
        vocab_size=len(tokenizer), bos_token_id=eos, eos_token_id=eos, pad_token_id=tokenizer.pad_token_id,
        **fields,
    )  # fmt: skip


def _build_into(out: Path, spec: TinySpec) -> dict[str, Path]:
    import torch
    from transformers import Qwen3ForCausalLM, Qwen3ForSequenceClassification

    tokenizer = build_tokenizer(spec)
    shape = dict(
        hidden_size=spec.hidden_size,
        intermediate_size=spec.intermediate_size,
        num_hidden_layers=spec.num_hidden_layers,
        num_attention_heads=spec.num_attention_heads,
        num_key_value_heads=spec.num_key_value_heads,
        head_dim=spec.head_dim,
        max_position_embeddings=spec.max_position_embeddings,
    )
    paths = {"policy": out / "policy", "reward": out / "reward"}

    torch.manual_seed(spec.seed)
    policy = Qwen3ForCausalLM(qwen3_config(tokenizer, **shape, tie_word_embeddings=True))
    policy.save_pretrained(paths["policy"])
    tokenizer.save_pretrained(paths["policy"])

    torch.manual_seed(spec.seed + 1)
    reward = Qwen3ForSequenceClassification(
        qwen3_config(tokenizer, **shape, tie_word_embeddings=False, num_labels=1)
    )
    # The default init (std 0.02) makes every score ~0; a wider head spreads scores so rankings differ.
    torch.nn.init.normal_(reward.score.weight, std=spec.score_head_std)
    reward.save_pretrained(paths["reward"])
    tokenizer.save_pretrained(paths["reward"])
    return paths
