from engine.protocol import ScoredCompletion
from engine.ranking import normalised, rank_completions


def item(text, reward, logprob=None, replace=0):
    return ScoredCompletion(
        text=text,
        valid=True,
        reason="",
        score=reward,
        reward=reward,
        mean_logprob=logprob,
        replace_chars=replace,
    )


def test_order_is_reward_then_logprob_then_length():
    items = [
        item("long text", 1.0, -1.0),
        item("short", 1.0, -1.0),
        item("confident", 1.0, -0.1),
        item("best", 2.0),
    ]
    assert [r.text for r in rank_completions(items)] == ["best", "confident", "short", "long text"]
    assert [r.rank for r in rank_completions(items)] == [1, 2, 3, 4]


def test_duplicates_by_normalised_text_are_shown_once():
    items = [item("x = 1  \n\n", 1.0), item("x = 1", 2.0), item("x = 1", 0.5, replace=1)]
    ranked = rank_completions(items)
    assert [(r.reward, r.replace_chars) for r in ranked] == [(2.0, 0), (0.5, 1)]
    assert normalised("a  \nb\n\n") == "a\nb"


def test_top_k_and_threshold():
    items = [item(str(i), float(i)) for i in range(6)]
    assert [r.text for r in rank_completions(items, top_k=2)] == ["5", "4"]
    assert [r.text for r in rank_completions(items, threshold=3.5)] == ["5", "4"]
    assert rank_completions(items, threshold=10.0) == []
