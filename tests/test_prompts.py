import pytest
from transformers import AutoTokenizer

from engine.document import DocumentContext
from engine.errors import CodescalerError
from engine.prompts.builder import fim_prompt, problem_prompt, token_counter
from engine.prompts.fim import FIM_TEMPLATES, detect_fim_template, fim_template
from engine.prompts.window import context_window


@pytest.fixture(scope="module")
def tokenizer(tiny_models):
    return AutoTokenizer.from_pretrained(tiny_models["policy"])


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("qwen", "<|fim_prefix|>def f(<|fim_suffix|>)\n<|fim_middle|>"),
        ("starcoder", "<fim_prefix>def f(<fim_suffix>)\n<fim_middle>"),
        ("deepseek", "<｜fim▁begin｜>def f(<｜fim▁hole｜>)\n<｜fim▁end｜>"),
        ("codellama", "<PRE> def f( <SUF>)\n <MID>"),
    ],
)
def test_templates_render_prefix_suffix_middle(name, expected):
    assert FIM_TEMPLATES[name].render("def f(", ")\n") == expected


def test_template_is_detected_from_the_tokenizer(tokenizer):
    assert detect_fim_template(tokenizer).name == "qwen"
    assert fim_template("auto", tokenizer).name == "qwen"
    assert fim_template("starcoder", tokenizer).name == "starcoder"


class VocabOnly:
    name_or_path = "some-chat-model"

    def __init__(self, tokens):
        self.tokens = tokens

    def get_vocab(self):
        return {token: i for i, token in enumerate(self.tokens)}


@pytest.mark.parametrize(
    ("tokens", "expected"),
    [
        (["<fim_prefix>", "<fim_middle>", "<fim_suffix>"], "starcoder"),
        (["<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>"], "deepseek"),
        (["▁<PRE>", "▁<MID>", "▁<SUF>"], "codellama"),
    ],
)
def test_each_family_is_recognised(tokens, expected):
    assert detect_fim_template(VocabOnly([*tokens, "a", "b"])).name == expected


def test_model_without_fim_tokens_is_a_clear_error():
    with pytest.raises(CodescalerError, match="no fill-in-the-middle tokens"):
        detect_fim_template(VocabOnly(["<|im_start|>", "a"]))
    with pytest.raises(CodescalerError, match="unknown FIM template"):
        fim_template("gpt", VocabOnly([]))


def test_fim_special_tokens_stay_single_tokens(tokenizer):
    prompt = fim_prompt(DocumentContext.at_marker("x = █\n", "█"), FIM_TEMPLATES["qwen"], tokenizer)
    ids = tokenizer(prompt.text, add_special_tokens=False)["input_ids"]
    assert ids[0] == tokenizer.convert_tokens_to_ids("<|fim_prefix|>")
    assert ids[-1] == tokenizer.convert_tokens_to_ids("<|fim_middle|>")
    assert "<|endoftext|>" in prompt.stop


def test_window_cuts_whole_lines_nearest_the_cursor_first():
    prefix = "".join(f"line {i}\n" for i in range(100)) + "    return "
    suffix = "\n".join(f"after {i}" for i in range(100))
    window = context_window(
        prefix, suffix, lambda text: len(text.split()) or 1, prefix_tokens=10, suffix_tokens=6
    )
    assert window.prefix.endswith("line 99\n    return ")
    assert window.prefix.startswith("line ")  # starts on a line boundary
    assert window.prefix_chars_dropped == len(prefix) - len(window.prefix) > 0
    assert window.suffix.startswith("after 0") and "after 99" not in window.suffix
    assert window.suffix_chars_dropped > 0


def test_window_keeps_the_cursor_line_even_over_budget():
    window = context_window("a very long cursor line", "x", lambda text: 1000, 5, 5)
    assert window.prefix == "a very long cursor line" and window.suffix == "x"


def test_window_within_budget_is_untouched(tokenizer):
    count = token_counter(tokenizer)
    window = context_window("def f():\n    ", "\n\nprint(f())", count)
    assert (window.prefix, window.suffix, window.prefix_chars_dropped) == (
        "def f():\n    ",
        "\n\nprint(f())",
        0,
    )


def test_problem_prompt_uses_the_chat_template_and_asks_for_one_block(tokenizer):
    prompt = problem_prompt("Reverse a string.", tokenizer, "python")
    assert prompt.text.startswith("<|im_start|>user\nReverse a string.")
    assert "exactly one fenced code block" in prompt.text
    assert prompt.text.endswith("<|im_start|>assistant\n")
