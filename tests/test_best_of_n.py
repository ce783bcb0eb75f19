"""The best-of-N loop: real tiny models end to end, and scripted samples for exact ranking checks."""

import pytest

from engine.best_of_n import BestOfN
from engine.document import DocumentContext
from engine.generation.base import Generator, Sample, SamplingOptions
from engine.generation.transformers_backend import TransformersGenerator
from engine.protocol import RankOptions
from engine.reward.transformers_backend import TransformersScorer

DOCUMENT = "def add(a, b):\n    return █\n\n\nprint(add(1, 2))\n"


class ScriptedPolicy(Generator):
    """Replays fixed samples through the real tokenizer; stands in for a policy that writes sensible
    code, which no model buildable here does. The real generators are tested in test_generation.py."""

    def __init__(self, tokenizer, texts):
        self.tokenizer, self.texts, self.prompts = tokenizer, texts, []

    def _generate(self, prompt, options: SamplingOptions, cancel=None):
        self.prompts.append((prompt, options))
        return [Sample(text, (-0.5,) * (i + 1)) for i, text in enumerate(self.texts)]


@pytest.fixture(scope="module")
def scorer(tiny_reward):
    return TransformersScorer.from_pretrained(str(tiny_reward))


@pytest.fixture(scope="module")
def policy(tiny_models):
    return TransformersGenerator.from_pretrained(str(tiny_models["policy"]))


def test_real_models_end_to_end(policy, scorer):
    engine = BestOfN(policy, scorer)
    context = DocumentContext.at_marker(DOCUMENT, "█", path="add.py")
    result = engine.complete(context, RankOptions(n=6, max_new_tokens=12, seed=0))
    assert result.generated == 6
    assert set(result.timings) == {"generation", "cleaning", "validation", "scoring"}
    assert sum(result.dropped.values()) + len(result.items) <= 6
    assert [item.rank for item in result.items] == list(range(1, len(result.items) + 1))
    for item in result.items:
        assert (item.score is None) == (item.valid is False)
        assert item.reward == 0.0 if item.valid is False else item.reward > 0


def test_valid_candidates_outrank_invalid_ones_and_cleaning_applies(policy, scorer):
    texts = ["a + b", "a + (b", "a + b\n\n\ndef other():\n    pass", "a - b", "a + b  "]
    scripted = ScriptedPolicy(policy.tokenizer, texts)
    context = DocumentContext.at_marker(DOCUMENT, "█", path="add.py")
    result = BestOfN(scripted, scorer).complete(context, RankOptions(n=5))
    prompt, options = scripted.prompts[0]
    assert prompt.startswith("<|fim_prefix|>def add(a, b):\n    return <|fim_suffix|>")
    assert options.n == 5 and "<|endoftext|>" in options.stop
    texts_ranked = [item.text for item in result.items]
    assert sorted(texts_ranked) == ["a + (b", "a + b", "a - b"]  # scope cut + trim made duplicates of "a + b"
    assert texts_ranked[-1] == "a + (b" and result.items[-1].valid is False
    assert result.dropped["dedupe"] == 2
    # each item names the sample it came from (the first of the duplicates merged into it)
    assert {item.text: item.sample for item in result.items} == {"a + b": 0, "a + (b": 1, "a - b": 3}
    expected = dict(zip(["a + b", "a - b"], scorer.score([
        ("Complete the code in add.py (language: python).\n\nCode after it:\n```python\nprint(add(1, 2))\n```",
         f"def add(a, b):\n    return {t}") for t in ["a + b", "a - b"]]), strict=True))  # fmt: skip
    for item in result.items[:2]:
        assert item.score == pytest.approx(expected[item.text], abs=1e-5)


def test_threshold_and_top_k(policy, scorer):
    scripted = ScriptedPolicy(policy.tokenizer, ["a + b", "a - b", "a * b"])
    context = DocumentContext.at_marker(DOCUMENT, "█", "python")
    engine = BestOfN(scripted, scorer)
    assert len(engine.complete(context, RankOptions(n=3, top_k=1)).items) == 1
    assert engine.complete(context, RankOptions(n=3, threshold=1e9)).items == []


def test_problem_mode_extracts_with_the_reference_rule(policy, scorer):
    texts = [
        "```python\ndef f():\n    return 1\n```",
        "no code",
        "```python\ndef f(:\n```",
        "```a\nx\n```\n```b\ny\n```",
    ]
    scripted = ScriptedPolicy(policy.tokenizer, texts)
    result = BestOfN(scripted, scorer).solve("Return one.", "python", RankOptions(n=4))
    assert scripted.prompts[0][0].startswith("<|im_start|>user\nReturn one.")
    best = result.items[0]
    assert (best.text, best.valid) == ("def f():\n    return 1", True)
    assert best.score == pytest.approx(scorer.score([("Return one.", best.text)])[0], abs=1e-5)
    assert all(item.valid is False for item in result.items[1:])


@pytest.mark.parametrize(
    ("document", "requested", "used", "newline_stops"),
    [
        (DOCUMENT, "auto", "single", True),  # `return █`: one line
        ("def add(a, b):\n    █\n", "auto", "multi", False),  # an empty body: a block
        ("def add(a, b):\n    █\n", "single", "single", True),  # the request overrides the tree
    ],
)
def test_line_mode_sets_the_newline_stop(policy, scorer, document, requested, used, newline_stops):
    scripted = ScriptedPolicy(policy.tokenizer, ["a + b"])
    context = DocumentContext.at_marker(document, "█", path="add.py")
    result = BestOfN(scripted, scorer).complete(context, RankOptions(n=1, line_mode=requested))
    assert result.line_mode == used
    assert ("\n" in scripted.prompts[0][1].stop) is newline_stops


def test_repository_context_reaches_the_prompt_and_the_reward_input(policy, scorer):
    from engine.cursor_candidates import CursorSampler
    from engine.protocol import ContextSnippet

    snippet = ContextSnippet(path="pkg/math.py", symbol="plus", text="def plus(x, y):\n    ...")
    context = DocumentContext.at_marker("from pkg.math import plus\n\ntotal = █\n", "█", path="calc.py")
    context = DocumentContext(context.text, context.offset, context.language, context.path, (snippet,))
    scripted = ScriptedPolicy(policy.tokenizer, ["plus(1, 2)", "plus(3, 4)"])
    found = CursorSampler(scripted).candidates(context, RankOptions(n=2))
    assert "<|file_sep|>pkg/math.py\ndef plus(x, y):" in scripted.prompts[0][0] and found.context == (
        snippet,
    )
    assert all(
        "Definitions from other files" in question and "def plus(x, y):" in question
        for question, _ in found.queries
    )
    result = BestOfN(ScriptedPolicy(policy.tokenizer, ["plus(1, 2)"]), scorer).complete(
        context, RankOptions(n=1)
    )
    assert [(use.path, use.symbol) for use in result.context] == [("pkg/math.py", "plus")]
