from engine.protocol import ScoredCompletion
from lsp_server.cache import PREFIX_KEY_CHARS, CompletionCache


def item(text, rank=1):
    return ScoredCompletion(
        text=text, valid=True, reason="", score=1.0, reward=1.0, mean_logprob=None, rank=rank
    )


def test_exact_hit_and_miss():
    cache = CompletionCache()
    cache.put("def f(x):\n    return ", "\n", ("python",), [item("x + 1")])
    assert [i.text for i in cache.get("def f(x):\n    return ", "\n", ("python",))] == ["x + 1"]
    assert cache.get("def f(x):\n    return ", "\n", ("rust",)) is None  # other settings
    assert cache.get("def f(x):\n    return ", "\nmore", ("python",)) is None  # other suffix
    assert cache.stats() == {"entries": 1, "exact": 1, "typed_through": 0, "miss": 2}


def test_typing_the_start_of_a_suggestion_reuses_it():
    cache = CompletionCache()
    cache.put("x = ", "\n", (), [item("foo(1)"), item("fob()", 2), item("bar", 3)])
    assert [i.text for i in cache.get("x = fo", "\n", ())] == ["o(1)", "b()"]
    assert cache.get("x = foo(1)", "\n", ()) is None  # typed all of it: nothing left to suggest
    assert cache.get("x = z", "\n", ()) is None  # typed something else
    assert cache.get("y = fo", "\n", ()) is None  # not an extension of the cached prefix


def test_typed_through_works_for_long_documents_cut_at_the_front():
    cache = CompletionCache()
    long_prefix = "a = 1\n" * (PREFIX_KEY_CHARS // 3) + "x = "
    cache.put(long_prefix, "", (), [item("compute(a)")])
    assert [i.text for i in cache.get(long_prefix + "comp", "", ())] == ["ute(a)"]


def test_least_recently_used_entries_go_first():
    cache = CompletionCache(capacity=2)
    cache.put("a", "", (), [item("1")])
    cache.put("b", "", (), [item("2")])
    cache.get("a", "", ())
    cache.put("c", "", (), [item("3")])
    assert cache.get("b", "", ()) is None and cache.get("a", "", ()) is not None
