"""Fill-in-the-middle templates of the main code-model families, rendered into the prompt text.

vLLM (and most OpenAI-compatible servers) reject the `suffix` field, so the FIM special tokens are written
into the prompt here. The template is chosen by name or detected from the tokenizer's vocabulary; a model
with no FIM tokens is an error, because a chat model asked to infill produces fluent garbage with no
warning (a top complaint of completion-tool users).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from engine.errors import CodescalerError


@dataclass(frozen=True)
class FimTemplate:
    """How one model family spells prefix / suffix / middle, and the tokens that end an infill."""

    name: str
    prefix: str
    suffix: str
    middle: str
    stop: tuple[str, ...]
    space_after_prefix: bool = False  # CodeLlama writes "<PRE> {prefix}"
    # The repository-level format, for the families trained on one (None: comment-prefixed context).
    repo_name: str | None = None
    file_sep: str | None = None
    path_after_prefix: bool = False  # StarCoder2 names the file being filled right after <fim_prefix>

    @property
    def has_repo_format(self) -> bool:
        return self.file_sep is not None

    def render(self, prefix: str, suffix: str, repo: RepoFiles | None = None) -> str:
        """Prefix-suffix-middle order, which every family here was trained on; with `repo`, other files
        of the repository first, in the family's repository-level format:

        * Qwen2.5-Coder: `<|repo_name|>NAME\n<|file_sep|>PATH\nCODE\n ... <|file_sep|>PATH\n<|fim_prefix|>...`
        * StarCoder2: `<repo_name>NAME<file_sep>PATH\nCODE ... <file_sep><fim_prefix>PATH\n...`
        """
        head = ""
        if repo is not None and self.has_repo_format:
            if self.path_after_prefix:
                files = "".join(f"{self.file_sep}{path}\n{code}" for path, code in repo.files)
                head = f"{self.repo_name}{repo.name}{files}{self.file_sep}"
                prefix = f"{repo.path}\n{prefix}"
            else:
                files = "".join(f"{self.file_sep}{path}\n{code}\n" for path, code in repo.files)
                head = f"{self.repo_name}{repo.name}\n{files}{self.file_sep}{repo.path}\n"
        if self.space_after_prefix:  # CodeLlama: "<PRE> {prefix} <SUF>{suffix} <MID>"
            return f"{head}{self.prefix} {prefix} {self.suffix}{suffix} {self.middle}"
        return f"{head}{self.prefix}{prefix}{self.suffix}{suffix}{self.middle}"


@dataclass(frozen=True)
class RepoFiles:
    """The repository part of a prompt: its name, the path of the file being completed, and other files'
    code (path, text), in order."""

    name: str
    path: str
    files: tuple[tuple[str, str], ...]


FIM_TEMPLATES: dict[str, FimTemplate] = {
    t.name: t
    for t in (
        FimTemplate(
            "qwen",
            "<|fim_prefix|>",
            "<|fim_suffix|>",
            "<|fim_middle|>",
            ("<|endoftext|>", "<|fim_pad|>", "<|file_sep|>", "<|repo_name|>", "<|fim_prefix|>", "<|im_end|>"),
            repo_name="<|repo_name|>",
            file_sep="<|file_sep|>",
        ),
        FimTemplate(
            "starcoder",
            "<fim_prefix>",
            "<fim_suffix>",
            "<fim_middle>",
            ("<|endoftext|>", "<file_sep>", "<fim_prefix>"),
            repo_name="<repo_name>",
            file_sep="<file_sep>",
            path_after_prefix=True,
        ),
        FimTemplate(
            "deepseek",
            "<｜fim▁begin｜>",
            "<｜fim▁hole｜>",
            "<｜fim▁end｜>",
            ("<｜end▁of▁sentence｜>", "<|EOT|>", "<｜fim▁begin｜>"),
        ),
        FimTemplate("codellama", "<PRE>", "<SUF>", "<MID>", ("<EOT>", "</s>"), space_after_prefix=True),
    )
}

# Token spellings that identify each family in a tokenizer's vocabulary.
_SIGNATURES = {
    "qwen": ("<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>"),
    "starcoder": ("<fim_prefix>", "<fim_middle>", "<fim_suffix>"),
    "deepseek": ("<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>"),
    "codellama": ("▁<PRE>", "▁<MID>", "▁<SUF>"),
}


@functools.lru_cache(maxsize=16)
def detect_fim_template(tokenizer: Any) -> FimTemplate:
    """The family whose FIM tokens the tokenizer has; an error naming the choices when it has none.

    Cached per tokenizer: building a 150k-entry vocabulary dict on every request would sit on the hot path.
    """
    vocabulary = tokenizer.get_vocab()
    for name, tokens in _SIGNATURES.items():
        if all(token in vocabulary for token in tokens):
            return FIM_TEMPLATES[name]
    raise CodescalerError(
        f"the policy's tokenizer ({getattr(tokenizer, 'name_or_path', '?')}) has no fill-in-the-middle tokens: "
        f"use a FIM-trained code model, or set the template explicitly ({', '.join(FIM_TEMPLATES)})"
    )


def fim_template(name: str | None, tokenizer: Any) -> FimTemplate:
    """The named template, or the detected one when `name` is None or "auto"."""
    if name in (None, "auto"):
        return detect_fim_template(tokenizer)
    if name not in FIM_TEMPLATES:
        raise CodescalerError(f"unknown FIM template {name!r}: use auto or one of {', '.join(FIM_TEMPLATES)}")
    return FIM_TEMPLATES[name]
