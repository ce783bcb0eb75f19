"""The default policy's training text, built only from what every install has offline.

Three kinds of example, all in the formats the engine later prompts with, so the small model learns the
product's own inputs rather than something near them:

* plain code: the interpreter's standard-library sources (PSF license), cut into snippets at top-level
  statements so an example fits one training window;
* fill-in-the-middle: the same snippets in Qwen's prefix-suffix-middle order (`<|fim_prefix|>` ...), with
  the middle a run of whole lines or the rest of one line, the two cursor shapes an editor produces;
* instructions: the chat prompt `codescaler rank --problem` and `curate` send, answered with one fenced
  block. The questions are stdlib functions' docstrings (answered by the function) and the MBPP+ training
  split (answered by the reference). HumanEval and the infilling sets are never read here.

Every choice is drawn from a seeded `random.Random`, so the same stdlib and seed give the same examples.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

FIM_PREFIX, FIM_SUFFIX, FIM_MIDDLE, EOS = (
    "<|fim_prefix|>",
    "<|fim_suffix|>",
    "<|fim_middle|>",
    "<|endoftext|>",
)


@dataclass(frozen=True)
class SourceFile:
    path: str  # relative to the stdlib root
    text: str

    def record(self) -> dict[str, object]:
        """What the model card lists for this file: enough to check the exact bytes used."""
        digest = hashlib.sha256(self.text.encode("utf-8")).hexdigest()
        return {"path": self.path, "chars": len(self.text), "sha256": digest}


def snippets(text: str, max_chars: int) -> Iterator[str]:
    """Runs of whole top-level statements of at most about `max_chars` (a longer statement is cut at line
    boundaries), so most examples start where a reader would start."""
    lines = text.splitlines(keepends=True)
    try:
        starts = sorted({node.lineno - 1 for node in ast.parse(text).body} | {0})
    except (SyntaxError, ValueError):
        starts = list(range(0, len(lines), 40))
    blocks = [lines[a:b] for a, b in zip(starts, [*starts[1:], len(lines)], strict=True)]
    current: list[str] = []
    for block in blocks:
        for line in block if sum(map(len, block)) > max_chars else ["".join(block)]:
            if current and sum(map(len, current)) + len(line) > max_chars:
                yield "".join(current)
                current = []
            current.append(line)
    if current:
        yield "".join(current)


def fim_example(snippet: str, rng: random.Random) -> str | None:
    """The snippet as a prefix-suffix-middle example; None when it is too short to cut."""
    lines = snippet.splitlines(keepends=True)
    if len(lines) < 3:
        return None
    first = rng.randrange(len(lines))
    if rng.random() < 0.5:  # whole lines: the cursor on an empty or indented line
        last = min(len(lines), first + rng.choice((1, 1, 2, 3, 5)))
        before, middle, after = lines[:first], lines[first:last], lines[last:]
        indent = len(middle[0]) - len(middle[0].lstrip(" \t"))
        prefix = "".join(before) + middle[0][:indent]
        middle_text = "".join(middle)[indent:]
    else:  # the rest of one line: the cursor after some typed text
        line = lines[first].rstrip("\n")
        if len(line.strip()) < 4:
            return None
        cut = rng.randrange(len(line) - len(line.lstrip()), len(line))
        prefix = "".join(lines[:first]) + line[:cut]
        middle_text = line[cut:]
        after = ["\n", *lines[first + 1 :]] if lines[first].endswith("\n") else lines[first + 1 :]
    suffix = "".join(after)
    return f"{FIM_PREFIX}{prefix}{FIM_SUFFIX}{suffix}{FIM_MIDDLE}{middle_text}{EOS}"


def docstring_tasks(files: Iterable[SourceFile], max_lines: int = 30) -> Iterator[tuple[str, str]]:
    """(question, program) from top-level functions with a docstring: the docstring asks, the function
    without it answers. Private and very long functions are left out."""
    for file in files:
        try:
            tree = ast.parse(file.text)
        except (SyntaxError, ValueError):
            continue
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
                continue
            doc = ast.get_docstring(node)
            if not doc or len(node.body) < 2 or node.end_lineno - node.lineno > max_lines:  # type: ignore[operator]
                continue
            answer = copy.copy(node)
            answer.body = node.body[1:]
            question = f"Write a Python function `{node.name}`. {doc.split(chr(10) + chr(10))[0].strip()}"
            try:
                yield question, ast.unparse(answer)
            except (ValueError, TypeError, AttributeError):
                continue


def chat_example(prompt_text: str, code: str) -> str:
    """An answer in the shape the reference extraction rule reads: one fenced Python block."""
    return f"{prompt_text}```python\n{code.strip()}\n```<|im_end|>\n{EOS}"


def training_texts(
    files: list[SourceFile],
    instructions: list[tuple[str, str]],
    prompt: Callable[[str], str],
    seed: int,
    fim_rate: float = 0.5,
    snippet_chars: int = 1200,
) -> list[str]:
    """Every example once, shuffled: plain and FIM snippets of the files, then chat answers."""
    rng = random.Random(seed)
    texts: list[str] = []
    for file in files:
        for snippet in snippets(file.text, snippet_chars):
            fim = fim_example(snippet, rng) if rng.random() < fim_rate else None
            texts.append(fim or snippet + EOS)
    texts.extend(chat_example(prompt(question), code) for question, code in instructions)
    rng.shuffle(texts)
    return texts
