"""Repository context in the policy's prompt, within its share of the prompt's token budget.

The families trained on a repository-level format get it (engine/prompts/fim.py: Qwen2.5-Coder,
StarCoder2): each file's snippets as one "file" before the file being completed. The others get the
same snippets as comments at the top of the prefix, one block per file:

    # Code from other files of this repository:
    # --- pkg/config.py ---
    # def load_config(path: str) -> Config:
    #     \"\"\"Read the config.\"\"\"

Snippets come best first (engine/workspace/retrieval.py); the last ones are dropped until the rest fits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from engine.prompts.fim import FimTemplate, RepoFiles
from engine.protocol import ContextSnippet
from engine.syntax.languages import line_comment

DEFAULT_REPO_NAME = "workspace"


def grouped(snippets: Sequence[ContextSnippet]) -> tuple[tuple[str, str], ...]:
    """(path, code) per file, files in the order of their first snippet."""
    files: dict[str, list[str]] = {}
    for snippet in snippets:
        files.setdefault(snippet.path, []).append(snippet.text)
    return tuple((path, "\n\n".join(texts)) for path, texts in files.items())


def commented(snippets: Sequence[ContextSnippet], language: str | None) -> str:
    """The snippets as comments in `language`, ending with a newline ("" without snippets)."""
    if not snippets:
        return ""
    mark = line_comment(language)
    lines = [f"{mark} Code from other files of this repository:"]
    for path, code in grouped(snippets):
        lines.append(f"{mark} --- {path} ---")
        lines += [f"{mark} {line}".rstrip() for line in code.split("\n")]
    return "\n".join(lines) + "\n"


def fitted(
    snippets: Sequence[ContextSnippet],
    template: FimTemplate,
    language: str | None,
    count_tokens: Callable[[str], int],
    budget_tokens: int,
) -> tuple[list[ContextSnippet], int]:
    """The leading snippets whose rendering fits `budget_tokens`, and the tokens it takes."""
    kept = list(snippets)
    while kept:
        cost = count_tokens(rendered_head(kept, template, language, "x"))
        if cost <= budget_tokens:
            return kept, cost
        kept.pop()
    return [], 0


def rendered_head(
    snippets: Sequence[ContextSnippet], template: FimTemplate, language: str | None, path: str
) -> str:
    """What the snippets add to the prompt text (for measuring)."""
    if template.has_repo_format:
        repo = RepoFiles(DEFAULT_REPO_NAME, path, grouped(snippets))
        return template.render("", "", repo).replace(template.render("", ""), "")
    return commented(snippets, language)
