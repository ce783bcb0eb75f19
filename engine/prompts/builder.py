"""Prompts for the two ways codescaler is asked for code.

* At a cursor (editors): a FIM prompt over the windowed prefix and suffix; the model's text goes in at the
  cursor as is.
* For a problem statement (chat, commands, evaluation): the policy's chat template with an instruction to
  answer in one fenced block, because the reward model is trained on code extracted by exactly that rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.document import DocumentContext
from engine.prompts.fim import FimTemplate, RepoFiles
from engine.prompts.repo_context import DEFAULT_REPO_NAME, commented, fitted, grouped
from engine.prompts.window import Window, context_window
from engine.protocol import ContextSnippet

DEFAULT_CONTEXT_SHARE = 0.25  # of the prefix's tokens, at most, for repository context (context.share)
PROBLEM_INSTRUCTION = (
    "{problem}\n\nWrite a complete solution in {language}. "
    "Answer with exactly one fenced code block (```{language} ... ```)."
)


@dataclass(frozen=True)
class Prompt:
    """Rendered prompt text, the stop strings that end a sample, the window it was built from, and the
    repository snippets it carries."""

    text: str
    stop: tuple[str, ...]
    window: Window | None = None
    context: tuple[ContextSnippet, ...] = ()


def token_counter(tokenizer: Any):
    """A function that counts tokens of a text with `tokenizer` (no special tokens added)."""
    return lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"])


def fim_prompt(
    context: DocumentContext,
    template: FimTemplate,
    tokenizer: Any,
    prefix_tokens: int = 1536,
    suffix_tokens: int = 512,
    context_share: float = DEFAULT_CONTEXT_SHARE,
) -> Prompt:
    """The FIM prompt for the cursor in `context`; its repository snippets take at most `context_share`
    of the prefix's token budget (what they leave unused goes to the prefix)."""
    count = token_counter(tokenizer)
    snippets, used = fitted(
        context.repo, template, context.language, count, int(prefix_tokens * context_share)
    )
    window = context_window(context.prefix, context.suffix, count, prefix_tokens - used, suffix_tokens)
    if not snippets:
        return Prompt(template.render(window.prefix, window.suffix), template.stop, window)
    path = context.path or "untitled"
    if template.has_repo_format:
        repo = RepoFiles(DEFAULT_REPO_NAME, path, grouped(snippets))
        text = template.render(window.prefix, window.suffix, repo)
    else:
        text = template.render(commented(snippets, context.language) + window.prefix, window.suffix)
    return Prompt(text, template.stop, window, tuple(snippets))


def problem_prompt(problem: str, tokenizer: Any, language: str = "python") -> Prompt:
    """The chat prompt asking the policy to solve `problem` in one fenced block."""
    return chat_prompt(PROBLEM_INSTRUCTION.format(problem=problem, language=language), tokenizer)


def chat_prompt(content: str, tokenizer: Any) -> Prompt:
    """One user turn in the policy's chat template, ready for the assistant's answer."""
    messages = [{"role": "user", "content": content}]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    bos = getattr(tokenizer, "bos_token", None)
    if bos and text.startswith(bos):  # the tokenizer adds it again when the prompt is encoded
        text = text[len(bos) :]
    stop = tuple(t for t in (getattr(tokenizer, "eos_token", None), "<|im_end|>") if t)
    return Prompt(text, stop)
