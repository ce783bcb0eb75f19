"""Render a `codescaler eval bon` report dict (report.json) as Markdown, two PNG plots and a terminal table.

The findings lead every rendering: they carry the honest verdicts (for example that a tiny untrained
reward model selects no better than random), and a reader who stops after the first screen must see them.
matplotlib is imported only when plots are drawn (engine/plots.py), so importing this module stays cheap.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.plots import new_figure, save_png_atomic

ACCURACY_VS_N = "accuracy_vs_n.png"
ACCURACY_VS_LATENCY = "accuracy_vs_latency.png"
MAX_LISTED = 20  # bad rows / missing problems listed in full before "and K more"
LATENCY_FLOOR_S = 1e-4  # zero latencies cannot sit on a log axis
TERMINAL_WIDTH = 100
SAMPLED_MARK = "*"


def _accuracy(value: float) -> str:
    return f"{value:.3f}"


def _with_interval(value: float, interval: list[float], signed: bool = False) -> str:
    """`0.350 [0.200, 0.500]`, or signed `+0.020 [-0.050, +0.090]` for differences."""
    spec = "+.3f" if signed else ".3f"
    low, high = interval
    return f"{value:{spec}} [{low:{spec}}, {high:{spec}}]"


def _vs_random(name: str, selector: dict[str, Any]) -> str:
    """Random is the baseline itself: its zero difference says nothing, so it shows a dash."""
    if name == "random":
        return "—"
    versus = selector["vs_random"]
    return _with_interval(versus["difference"], versus["interval"], signed=True)


def _duration(seconds: float) -> str:
    """Milliseconds below a second (one decimal under 10 ms), seconds above."""
    if seconds < 1:
        milliseconds = seconds * 1000
        return f"{milliseconds:.1f} ms" if milliseconds < 10 else f"{milliseconds:.0f} ms"
    return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:.0f} s"


def _times(ratio: float) -> str:
    return f"{ratio:.0f}x" if ratio >= 10 else f"{ratio:.1f}x"


def _yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def _curve_columns(selectors: dict[str, dict[str, Any]]) -> list[int]:
    """The n shown as columns: 1, 2, 4, 8 and the largest pool, those that some curve has."""
    present = {point["n"] for selector in selectors.values() for point in selector["curve"]}
    if not present:
        return []
    return sorted({1, 2, 4, 8, max(present)} & present)


def _real_execution_selectors(selectors: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Execution-based selectors, oracle excluded: it reads the test results, so its speed means nothing."""
    return {name: s for name, s in selectors.items() if s["executes"] and name != "oracle"}


def _speed_line(selectors: dict[str, dict[str, Any]]) -> str:
    """How much faster `rm` chooses than the fastest execution-based selector, at the median."""
    executing = _real_execution_selectors(selectors)
    if "rm" not in selectors or not executing:
        return "No speed comparison: it needs both `rm` and an execution-based selector."
    fastest = min(executing, key=lambda name: executing[name]["latency_s"]["p50"])
    theirs = executing[fastest]["latency_s"]["p50"]
    ours = selectors["rm"]["latency_s"]["p50"]
    detail = f"p50 {_duration(ours)} vs {_duration(theirs)}"
    if ours <= 0:
        return f"`rm`'s p50 latency rounds to zero ({detail} for `{fastest}`); no ratio is given."
    ratio = theirs / ours
    if ratio >= 1:
        return (
            f"`rm` is **{_times(ratio)} faster** than the fastest execution-based selector, `{fastest}` "
            f"({detail})."
        )
    return (
        f"`rm` is **{_times(1 / ratio)} slower** than the fastest execution-based selector, `{fastest}` "
        f"({detail})."
    )


def _setup_lines(report: dict[str, Any]) -> list[str]:
    sizes = report["pool_size"]
    if sizes["min"] == sizes["max"]:
        pool_sizes = f"{sizes['max']} candidates per problem"
    else:
        pool_sizes = f"{sizes['min']} to {sizes['max']} candidates per problem (mean {sizes['mean']:.1f})"
    runs = report["executions"]
    return [
        f"- Problems: {report['problems']} ({report['n_problems']} with at least one candidate)",
        f"- Pool: {report['pool']}; {pool_sizes}",
        f"- Reward model: {report['reward_model'] or 'none'}",
        f"- Seed: {report['seed']}",
        f"- Executions: {runs['programs']} programs run ({runs['cached']} from cache), {runs['passed']} passed",
    ]


def _selector_table(selectors: dict[str, dict[str, Any]]) -> list[str]:
    """One row per selector; best-of-n cells marked when sampled, dashed when the curve stops earlier."""
    columns = _curve_columns(selectors)
    header = ["selector", "accuracy [95% CI]", "vs random [95% CI]", *(f"n={n}" for n in columns)]
    header += ["latency p50 / p95", "executes code"]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---", *["---:"] * (len(header) - 2), "---"]) + "|",
    ]
    sampled = missing = False
    for name, selector in selectors.items():
        points = {point["n"]: point for point in selector["curve"]}
        cells = [
            f"`{name}`",
            _with_interval(selector["accuracy"], selector["interval"]),
            _vs_random(name, selector),
        ]
        for n in columns:
            point = points.get(n)
            if point is None:
                missing = True
                cells.append("—")
                continue
            mark = SAMPLED_MARK if point["method"] == "sampled" else ""
            sampled = sampled or bool(mark)
            cells.append(_accuracy(point["accuracy"]) + mark)
        latency = selector["latency_s"]
        cells += [f"{_duration(latency['p50'])} / {_duration(latency['p95'])}", _yes_no(selector["executes"])]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Columns n=k give best-of-k accuracy: the selector chooses among k candidates per problem."]
    if sampled:
        lines += ["", f"`{SAMPLED_MARK}` sampled: estimated from random subsets of the pool, not exactly."]
    if missing:
        lines += ["", "— no problem's pool has that many candidates for this selector."]
    return lines


def _selector_notes(selectors: dict[str, dict[str, Any]]) -> list[str]:
    lines = []
    for name, selector in selectors.items():
        line = f"- `{name}`: {selector['note']}"
        if selector["no_signal"]:
            line += f" (nothing to go on, fell back to a tie, on {selector['no_signal']} problems)"
        lines.append(line)
    return lines


def _latency_section(selectors: dict[str, dict[str, Any]]) -> list[str]:
    executing = _real_execution_selectors(selectors)
    free = {name: s for name, s in selectors.items() if not s["executes"]}

    def listing(group: dict[str, dict[str, Any]]) -> str:
        return (
            ", ".join(f"`{name}` {_duration(s['latency_s']['p50'])}" for name, s in group.items()) or "none"
        )

    lines = [
        "Per problem, from candidates in hand to a choice made (p50).",
        "",
        f"- Execution-free: {listing(free)}",
        f"- Execution-based: {listing(executing)}",
    ]
    if "oracle" in selectors:
        lines.append(
            "- `oracle` is left out: it reads the test results, an upper bound rather than a selector."
        )
    return [*lines, "", _speed_line(selectors)]


def _more(total: int, shown: int) -> list[str]:
    return [f"and {total - shown} more"] if total > shown else []


def render_markdown(report: dict[str, Any]) -> str:
    """report.md: findings first so no reader misses them, then setup, the table, latency and the leftovers."""
    selectors = report["selectors"]
    findings = [f"- {finding}" for finding in report["findings"]] or ["No findings were recorded."]
    sections = [
        [f"# Best-of-N selection on {report['problems']}"],
        ["## Findings", "", *findings],
        ["## Setup", "", *_setup_lines(report)],
        ["## Selectors", "", *_selector_table(selectors), "", *_selector_notes(selectors)],
        ["## Selection latency", "", *_latency_section(selectors)],
    ]
    if report["skipped_selectors"]:
        skipped = [f"- `{name}`: {reason}" for name, reason in report["skipped_selectors"].items()]
        sections.append(["## Skipped selectors", "", *skipped])
    bad = report["bad_rows"]
    if bad["count"]:
        shown = bad["rows"][:MAX_LISTED]
        listed = [f"- line {row['line']}: {row['reason']}" for row in shown]
        listed += [f"- {line}" for line in _more(bad["count"], len(shown))]
        sections.append(["## Bad pool rows", "", f"{bad['count']} pool rows were skipped:", "", *listed])
    missing = report["problems_without_candidates"]
    if missing:
        shown = missing[:MAX_LISTED]
        names = ", ".join([*(f"`{task}`" for task in shown), *_more(len(missing), len(shown))])
        sections.append(
            [
                "## Problems without candidates",
                "",
                f"{len(missing)} problems had no candidate and are not counted in the accuracies: {names}.",
            ]
        )
    sections.append(
        [
            "## Plots",
            "",
            f"![accuracy vs N]({ACCURACY_VS_N})",
            "",
            f"![accuracy vs latency]({ACCURACY_VS_LATENCY})",
        ]
    )
    return "\n\n".join("\n".join(section) for section in sections) + "\n"


def _plot_accuracy_vs_n(axes: Any, selectors: dict[str, dict[str, Any]]) -> None:
    styles = {"oracle": "--", "random": ":"}
    any_sampled = False
    for name, selector in selectors.items():
        curve = selector["curve"]
        (line,) = axes.plot(
            [p["n"] for p in curve],
            [p["accuracy"] for p in curve],
            styles.get(name, "-"),
            marker="o",
            label=name,
        )
        sampled = [p for p in curve if p["method"] == "sampled"]
        if sampled:
            any_sampled = True
            axes.plot(
                [p["n"] for p in sampled],
                [p["accuracy"] for p in sampled],
                "o",
                markerfacecolor="white",
                markeredgecolor=line.get_color(),
            )
    if any_sampled:
        axes.plot([], [], "o", markerfacecolor="white", markeredgecolor="gray", label="sampled point")
    axes.set_xscale("log", base=2)
    ticks = _curve_columns(selectors)
    axes.set_xticks(ticks, [str(n) for n in ticks])
    axes.minorticks_off()
    axes.set_ylim(-0.02, 1.02)
    axes.set_xlabel("candidates per problem (n)")
    axes.set_ylabel("selection accuracy")
    axes.set_title("Best-of-n accuracy")
    axes.grid(alpha=0.3)
    if selectors:
        axes.legend(fontsize="small")


def _plot_accuracy_vs_latency(axes: Any, selectors: dict[str, dict[str, Any]]) -> None:
    labelled: set[str] = set()
    for name, selector in selectors.items():
        if name == "oracle":
            continue
        executes = selector["executes"]
        group = "executes code" if executes else "execution-free"
        x = max(selector["latency_s"]["p50"], LATENCY_FLOOR_S)
        y = selector["accuracy"]
        low, high = selector["interval"]
        axes.errorbar(
            [x],
            [y],
            yerr=[[max(y - low, 0.0)], [max(high - y, 0.0)]],
            fmt="s" if executes else "o",
            color="tab:red" if executes else "tab:blue",
            capsize=3,
            label=None if group in labelled else group,
        )
        labelled.add(group)
        axes.annotate(name, xy=(x, y), xytext=(5, 5), textcoords="offset points", fontsize="small")
    axes.set_xscale("log")
    axes.set_ylim(-0.02, 1.02)
    axes.set_xlabel(f"selection latency p50, seconds (floored at {LATENCY_FLOOR_S:g})")
    axes.set_ylabel("selection accuracy (95% CI)")
    axes.set_title("Accuracy vs selection latency (oracle excluded)")
    axes.grid(alpha=0.3)
    if labelled:
        axes.legend(fontsize="small")


def write_plots(report: dict[str, Any], out_dir: Path) -> list[Path]:
    """accuracy_vs_n.png and accuracy_vs_latency.png in `out_dir`, each written atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    plots: list[tuple[str, Callable[[Any, dict[str, dict[str, Any]]], None]]] = [
        (ACCURACY_VS_N, _plot_accuracy_vs_n),
        (ACCURACY_VS_LATENCY, _plot_accuracy_vs_latency),
    ]
    written = []
    for filename, draw in plots:
        figure = new_figure()
        draw(figure.add_subplot(), report["selectors"])
        target = out_dir / filename
        save_png_atomic(figure, target)
        written.append(target)
    return written


def _wrapped(text: str, prefix: str = "") -> list[str]:
    return textwrap.wrap(text, TERMINAL_WIDTH, initial_indent=prefix, subsequent_indent=" " * len(prefix))


def summary_table(report: dict[str, Any]) -> str:
    """One screen for the terminal: the table, the findings, and counts of what was left out."""
    selectors = report["selectors"]
    header = ("selector", "accuracy [95% CI]", "vs random [95% CI]", "p50 latency", "executes")
    rows = [
        (
            name,
            _with_interval(s["accuracy"], s["interval"]),
            _vs_random(name, s),
            _duration(s["latency_s"]["p50"]),
            _yes_no(s["executes"]),
        )
        for name, s in selectors.items()
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    lines.append("")
    for finding in report["findings"]:
        lines += _wrapped(finding, "- ")
    if report["skipped_selectors"]:
        skipped = ", ".join(f"{name} ({reason})" for name, reason in report["skipped_selectors"].items())
        lines += _wrapped(f"skipped selectors: {skipped}")
    if report["bad_rows"]["count"]:
        lines.append(f"{report['bad_rows']['count']} bad pool rows skipped (listed in report.md)")
    if report["problems_without_candidates"]:
        lines.append(
            f"{len(report['problems_without_candidates'])} problems without candidates "
            "(not counted in accuracy)"
        )
    return "\n".join(lines)
