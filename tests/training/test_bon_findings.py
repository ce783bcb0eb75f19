"""The findings that lead a best-of-N report: a selector at random is said to be at random."""

from __future__ import annotations

from training.evaluation.findings import findings


def entry(accuracy, difference, interval, p50=0.0, executes=False):
    return {"accuracy": accuracy, "vs_random": {"difference": difference, "interval": interval},
            "latency_s": {"p50": p50}, "executes": executes}  # fmt: skip


def report(**selectors):
    return {"executions": {"passed": 5}, "selectors": selectors}


def test_untrained_reward_model_is_reported_at_random():
    lines = findings(report(rm=entry(0.31, 0.01, [-0.04, 0.06], p50=0.02), random=entry(0.3, 0, [0, 0]),
                            oracle=entry(0.6, 0.3, [0.2, 0.4])))  # fmt: skip
    assert lines == ["`rm` does not beat a random pick here: +0.010 (95% CI -0.040 to +0.060); its choices are "
                     "no better than chance."]  # fmt: skip


def test_gains_losses_and_latency():
    lines = findings(report(
        rm=entry(0.45, 0.15, [0.05, 0.25], p50=0.02), random=entry(0.3, 0, [0, 0]),
        examples=entry(0.5, 0.2, [0.1, 0.3], p50=0.5, executes=True), first=entry(0.2, -0.1, [-0.2, -0.01]),
        oracle=entry(0.6, 0.3, [0.2, 0.4], executes=True),
    ))  # fmt: skip
    assert (
        lines[0]
        == "`rm` beats a random pick by +0.150 (95% CI +0.050 to +0.250), closing 50% of the gap to the oracle."
    )
    assert lines[2] == "`first` does worse than a random pick: -0.100 (95% CI -0.200 to -0.010)."
    assert lines[-1] == ("`rm` chooses in 20.0 ms per problem (p50) without running code; execution-based "
                         "selectors take `examples` 500.0 ms (25x).")  # fmt: skip


def test_nothing_passes_says_the_comparison_is_empty():
    lines = findings({"executions": {"passed": 0}, "selectors": {"random": entry(0, 0, [0, 0]),
                                                                 "oracle": entry(0, 0, [0, 0])}})  # fmt: skip
    assert lines[0].startswith("No candidate passes its tests")
