"""Repository context in the policy's prompt (the families' repository-level formats, comments for the
others, within its share of the budget) and in the reward model's question."""

from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from engine.document import Completion, DocumentContext
from engine.editor_reward_input import REPO_CHARS, editor_reward_pair
from engine.prompts.builder import fim_prompt, token_counter
from engine.prompts.fim import FIM_TEMPLATES
from engine.protocol import ContextSnippet

DEFINITION = ContextSnippet(path="pkg/config.py", symbol="load_config", line=16,
                            text='def load_config(path: str) -> Config:\n    """Read it."""')  # fmt: skip
SIMILAR = ContextSnippet(path="pkg/report.py", kind="similar", line=3, text="total = sum(rows)")
TEXT = "from pkg.config import load_config\n\nconfig = load_config("


def context(*repo: ContextSnippet) -> DocumentContext:
    return DocumentContext(TEXT, len(TEXT), "python", "pkg/main.py", repo)


@pytest.fixture(scope="module")
def tokenizer(tiny_models):
    return AutoTokenizer.from_pretrained(tiny_models["policy"])


def test_qwen_and_starcoder_get_their_repository_formats(tokenizer):
    qwen = fim_prompt(context(DEFINITION, SIMILAR), FIM_TEMPLATES["qwen"], tokenizer).text
    assert qwen == (
        "<|repo_name|>workspace\n<|file_sep|>pkg/config.py\n" + DEFINITION.text + "\n"
        "<|file_sep|>pkg/report.py\ntotal = sum(rows)\n<|file_sep|>pkg/main.py\n"
        f"<|fim_prefix|>{TEXT}<|fim_suffix|><|fim_middle|>"
    )
    starcoder = fim_prompt(context(DEFINITION), FIM_TEMPLATES["starcoder"], tokenizer).text
    assert starcoder == (
        f"<repo_name>workspace<file_sep>pkg/config.py\n{DEFINITION.text}<file_sep>"
        f"<fim_prefix>pkg/main.py\n{TEXT}<fim_suffix><fim_middle>"
    )


def test_other_families_get_comments(tokenizer):
    text = fim_prompt(context(DEFINITION), FIM_TEMPLATES["deepseek"], tokenizer).text
    assert text.startswith(
        "<｜fim▁begin｜># Code from other files of this repository:\n# --- pkg/config.py ---\n"
        '# def load_config(path: str) -> Config:\n#     """Read it."""\nfrom pkg.config'
    )


def test_context_keeps_to_its_share_and_the_prompt_reports_what_it_carried(tokenizer):
    many = tuple(
        ContextSnippet(path=f"pkg/m{i}.py", symbol=f"f{i}", text=f"def f{i}(a, b, c): ...")
        for i in range(200)
    )
    count = token_counter(tokenizer)
    prompt = fim_prompt(
        context(*many), FIM_TEMPLATES["qwen"], tokenizer, prefix_tokens=400, context_share=0.25
    )
    head = prompt.text.split("<|fim_prefix|>")[0]
    assert 0 < len(prompt.context) < len(many) and prompt.context == many[: len(prompt.context)]
    assert count(head) <= 100
    assert fim_prompt(context(*many), FIM_TEMPLATES["qwen"], tokenizer, context_share=0).context == ()
    assert fim_prompt(context(), FIM_TEMPLATES["qwen"], tokenizer).text.startswith("<|fim_prefix|>")


def test_the_reward_question_holds_the_definitions_only():
    question, code = editor_reward_pair(context(DEFINITION, SIMILAR), Completion('"app.toml")'))
    assert question.endswith(
        "Definitions from other files of the repository:\n```python\n# pkg/config.py\n"
        + DEFINITION.text
        + "\n```"
    )
    assert "total = sum(rows)" not in question and code.endswith('load_config("app.toml")')
    plain, _ = editor_reward_pair(context(), Completion('"app.toml")'))
    assert "Definitions from other files" not in plain
    big = tuple(ContextSnippet(path="a.py", symbol=f"f{i}", text="x" * 400) for i in range(10))
    question, _ = editor_reward_pair(context(*big), Completion("1)"))
    assert len(question.split("Definitions from other files")[1]) <= REPO_CHARS + 60
