"""What a best-of-N report means, in plain sentences that lead the report.

The product's claim is that the reward model selects almost as well as execution at a fraction of the
latency. The findings state, for each selector, whether it beats a random pick (with the interval, so a
tiny or untrained reward model is shown sitting at random rather than hidden in a table), how much of the
gap to the oracle it closes, and how the execution-free and execution-based selectors compare in latency.
"""

from __future__ import annotations

from typing import Any

_BASELINES = ("random", "oracle")


def findings(report: dict[str, Any]) -> list[str]:
    selectors = report["selectors"]
    lines = []
    if report["executions"]["passed"] == 0:
        return [
            "No candidate passes its tests, so every selector scores 0 and the accuracy comparison says "
            "nothing: use a stronger policy or another pool.",
            *_latency(selectors),
        ]
    random_accuracy = selectors["random"]["accuracy"] if "random" in selectors else None
    oracle_accuracy = selectors["oracle"]["accuracy"]
    for name, entry in selectors.items():
        if name in _BASELINES or entry["accuracy"] is None:
            continue
        difference, (low, high) = entry["vs_random"]["difference"], entry["vs_random"]["interval"]
        where = f"{difference:+.3f} (95% CI {low:+.3f} to {high:+.3f})"
        if low > 0:
            line = f"`{name}` beats a random pick by {where}"
            if random_accuracy is not None and oracle_accuracy > random_accuracy:
                closed = difference / (oracle_accuracy - random_accuracy)
                line += f", closing {closed:.0%} of the gap to the oracle"
            lines.append(line + ".")
        elif high < 0:
            lines.append(f"`{name}` does worse than a random pick: {where}.")
        else:
            lines.append(
                f"`{name}` does not beat a random pick here: {where}; its choices are no better than chance."
            )
    lines += _latency(selectors)
    return lines


def _latency(selectors: dict[str, Any]) -> list[str]:
    free = [
        n for n, e in selectors.items() if n not in _BASELINES and not e["executes"] and n.startswith("rm")
    ]
    executing = [n for n, e in selectors.items() if n not in _BASELINES and e["executes"]]
    lines = []
    for name in free:
        fast = selectors[name]["latency_s"]["p50"]
        slower = [
            f"`{other}` {_duration(slow)} ({slow / fast:.0f}x)"
            for other in executing
            if fast > 0 and (slow := selectors[other]["latency_s"]["p50"]) > 0
        ]
        if slower:
            lines.append(
                f"`{name}` chooses in {_duration(fast)} per problem (p50) without running code; "
                f"execution-based selectors take {', '.join(slower)}."
            )
    return lines


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.1f} s"
