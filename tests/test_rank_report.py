"""What `codescaler rank` shows a person: counts, valid suggestions in context, a reason when nothing."""

from engine import rank_report
from engine.document import DocumentContext
from engine.protocol import RankResult, ScoredCompletion


def item(text, valid=True, reward=1.0, rank=1, replace_chars=0, reason=""):
    return ScoredCompletion(text=text, valid=valid, reason=reason, score=None if valid is False else 0.5,
                            reward=reward, mean_logprob=None, rank=rank, replace_chars=replace_chars)  # fmt: skip


CONTEXT = DocumentContext.at_marker("def f(x):\n    return g(|)\n", "|")


def test_valid_suggestions_first_and_never_an_invalid_or_empty_one_unless_asked():
    result = RankResult(items=[item("x", valid=False, reward=0.0, reason="adds 1 syntax error(s)"), item("x + 1"),
                               item("   ", valid=True, reward=0.5)], generated=3)  # fmt: skip
    assert [i.text for i in rank_report.ordered(result, everything=False)] == ["x + 1"]
    assert [i.text for i in rank_report.ordered(result, everything=True)] == ["x + 1", "x", "   "]
    assert rank_report.summary(result, None) == "3 sampled · ranked: 1 valid, 2 invalid (--all shows them)"


def test_a_suggestion_is_shown_as_the_completed_line_with_the_insertion_marked():
    assert rank_report.in_context(CONTEXT, item("x")) == ["2 |     return g(⟦x⟧)"]
    widened = item("x, y)", replace_chars=1)  # replaces the auto-closed bracket
    assert rank_report.in_context(CONTEXT, widened) == ["2 |     return g(⟦x, y)⟧"]
    assert rank_report.in_context(CONTEXT, item("x)\n    y = 2")) == [
        "2 |     return g(⟦x)",
        "3 |     y = 2⟧)",
    ]
    assert rank_report.in_context(None, item("def f():\n    pass")) == ["def f():", "    pass"]


def test_no_suggestion_says_why_in_words():
    def reason(result, threshold=None):
        return rank_report.nothing_to_show(result, threshold)

    assert "scored below the threshold 0.5" in reason(
        RankResult(items=[], generated=8, dropped={"below_threshold": 6, "near_empty": 2}), 0.5
    )
    assert "all 2 candidate(s) break the syntax" in reason(
        RankResult(items=[item("(", valid=False, reward=0.0)] * 2, generated=2)
    )
    assert "cleaning dropped all 4 samples" in reason(
        RankResult(items=[], generated=4, dropped={"near_empty": 4})
    )


def test_json_names_one_based_positions():
    report = rank_report.as_json(RankResult(items=[item("x", replace_chars=1)], generated=1), CONTEXT)
    assert report["cursor"] == {"line": 2, "column": 14}
    assert report["items"][0]["replaces"] == {
        "start": {"line": 2, "column": 14},
        "end": {"line": 2, "column": 15},
    }
