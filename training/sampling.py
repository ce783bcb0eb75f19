"""Programs sampled from a policy for a problem statement, the one way curation and evaluation ask for them:
the chat prompt, N samples in one call, and code extracted by the reference rule (the rule the reward
model was trained on)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from engine.generation.base import Generator, SamplingOptions
from engine.prompts.builder import problem_prompt
from engine.syntax.extraction import extract_code


def problem_seed(seed: int, task_id: str) -> int:
    """A per-problem sampling seed: a rerun (or a resumed run) samples each problem identically, whatever
    else it runs, in whatever order."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{task_id}".encode()).digest()[:4], "big")


@dataclass(frozen=True)
class SamplingSettings:
    """How programs are sampled for a problem statement, in curation and in best-of-N pools alike. `seed`
    is the run's: each problem samples with `problem_seed(seed, task_id)`."""

    n: int = 8
    max_new_tokens: int = 512
    temperature: float = 0.8
    top_p: float = 0.95
    seed: int = 0


@dataclass(frozen=True)
class SampledProgram:
    code: str  # "" when the response holds no code block
    response: str
    mean_logprob: float | None
    finish_reason: str


def sample_programs(
    generator: Generator,
    question: str,
    settings: SamplingSettings,
    seed: int | None,
    language: str = "python",
) -> list[SampledProgram]:
    """`settings.n` programs for `question`, sampled with `seed` (the problem's, not the run's)."""
    prompt = problem_prompt(question, generator.tokenizer, language)
    options = SamplingOptions(
        settings.n, settings.max_new_tokens, settings.temperature, settings.top_p, prompt.stop, seed
    )
    return [
        SampledProgram(
            extract_code(sample.text).code,
            sample.text,
            sum(sample.logprobs) / len(sample.logprobs) if sample.logprobs else None,
            sample.finish_reason,
        )
        for sample in generator.generate(prompt.text, options)
    ]
