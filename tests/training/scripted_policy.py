"""A policy that answers from a script: stands in for a model that writes working code, which no model
buildable here does (the real generators are tested in tests/test_generation.py)."""

from __future__ import annotations

import time

from engine.generation.base import Generator, Sample, SamplingOptions


class ScriptedPolicy(Generator):
    def __init__(self, tokenizer, answers_by_question: dict[str, list[str]], delay_s: float = 0.0):
        self.tokenizer = tokenizer
        self.answers = answers_by_question
        self.delay_s = delay_s

    def _generate(self, prompt: str, options: SamplingOptions, cancel=None) -> list[Sample]:
        time.sleep(self.delay_s)
        for question, answers in self.answers.items():
            if question in prompt:
                return [Sample(f"```python\n{answers[i % len(answers)]}\n```") for i in range(options.n)]
        return [Sample("no idea")] * options.n


def humaneval_answers(problems) -> dict[str, list[str]]:
    """Per problem: the canonical solution twice (once with a comment: one program after normalising),
    a second correct variant, and two wrong programs."""
    answers = {}
    for problem in problems.values():
        right = problem.question + problem.metadata["canonical_solution"]
        header = problem.question.rstrip()
        answers[problem.question] = [
            right,
            right + "\n# the same program with a comment\n",
            f"{header}\n    return None\n",
            right.replace("    ", "    ", 1) + "\n\nunused = 1\n",
            f"{header}\n    raise ValueError('nope')\n",
        ]
    return answers
