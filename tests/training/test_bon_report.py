"""Rendering of the `codescaler eval bon` report: Markdown, PNG plots and the terminal table."""

from __future__ import annotations

import copy

import pytest

from training.evaluation import bon_report
from training.evaluation.bon_report import render_markdown, summary_table, write_plots

FINDING = "`rm` does not beat `random` here: +0.020 (95% CI -0.050 to +0.090)."
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def curve(accuracies, sampled=()):
    return [
        {"n": n, "accuracy": a, "problems": 20, "method": "sampled" if n in sampled else "exact"}
        for n, a in enumerate(accuracies, start=1)
    ]


def selector(accuracy, interval, versus, accuracies, latency, executes, note, sampled=(), no_signal=0):
    """One selector's entry; `versus` is (difference, interval) against random, `latency` is (p50, p95)."""
    return {
        "accuracy": accuracy,
        "interval": interval,
        "vs_random": {"difference": versus[0], "interval": versus[1]},
        "curve": curve(accuracies, sampled),
        "latency_s": {"mean": latency[0], "p50": latency[0], "p95": latency[1]},
        "executes": executes,
        "no_signal": no_signal,
        "note": note,
    }


def full_report():
    rm_curve = [0.31, 0.33, 0.34, 0.36, 0.36, 0.36, 0.36, 0.41]
    oracle_curve = [0.3, 0.5, 0.6, 0.65, 0.7, 0.75, 0.78, 0.8]
    return {
        "problems": "humaneval",
        "pool": "pool.jsonl",
        "reward_model": "models/tiny-rm",
        "seed": 0,
        "n_problems": 20,
        "pool_size": {"min": 4, "max": 8, "mean": 7.5},
        "selectors": {
            "rm": selector(
                0.35,
                [0.2, 0.5],
                (0.02, [-0.05, 0.09]),
                rm_curve,
                (0.01, 0.04),
                False,
                "reward model scores",
                sampled={8},
                no_signal=3,
            ),
            "random": selector(
                0.3, [0.15, 0.45], (0.0, [0.0, 0.0]), [0.3] * 8, (0.0, 0.0), False, "uniform pick"
            ),
            "examples": selector(
                0.55,
                [0.35, 0.75],
                (0.25, [0.1, 0.4]),
                [0.5, 0.52, 0.54, 0.55],
                (0.5, 1.5),
                True,
                "runs the docstring examples",
            ),
            "oracle": selector(
                0.8, [0.6, 0.95], (0.5, [0.3, 0.65]), oracle_curve, (0.0, 0.0), True, "knows the hidden tests"
            ),
        },
        "skipped_selectors": {"logprob": "the pool has no logprobs"},
        "bad_rows": {
            "count": 2,
            "rows": [{"line": 3, "reason": "unknown task_id 'X'"}, {"line": 9, "reason": "no code field"}],
        },
        "problems_without_candidates": [f"HumanEval/{i}" for i in range(100, 125)],
        "executions": {"programs": 160, "cached": 40, "passed": 33},
        "findings": [FINDING],
    }


def minimal_report():
    report = full_report()
    report["selectors"] = {name: report["selectors"][name] for name in ("rm", "random")}
    for name in ("rm", "random"):
        for point in report["selectors"][name]["curve"]:
            point["method"] = "exact"
    report["skipped_selectors"] = {}
    report["bad_rows"] = {"count": 0, "rows": []}
    report["problems_without_candidates"] = []
    return report


def table_row(markdown, name):
    rows = [line for line in markdown.splitlines() if line.startswith(f"| `{name}` |")]
    assert len(rows) == 1, rows
    return [cell.strip() for cell in rows[0].strip("|").split("|")]


def test_markdown_table_carries_each_selectors_numbers():
    markdown = render_markdown(full_report())
    header = next(line for line in markdown.splitlines() if line.startswith("| selector |"))
    assert "| n=1 | n=2 | n=4 | n=8 |" in header
    assert table_row(markdown, "rm") == [
        "`rm`", "0.350 [0.200, 0.500]", "+0.020 [-0.050, +0.090]", "0.310", "0.330", "0.360", "0.410*",
        "10 ms / 40 ms", "no",
    ]  # fmt: skip
    assert table_row(markdown, "random")[1:3] == ["0.300 [0.150, 0.450]", "—"]
    # examples' curve stops at n=4: its n=8 cell is a dash, and it runs code
    assert table_row(markdown, "examples") == [
        "`examples`", "0.550 [0.350, 0.750]", "+0.250 [+0.100, +0.400]", "0.500", "0.520", "0.550", "—",
        "500 ms / 1.50 s", "yes",
    ]  # fmt: skip
    assert table_row(markdown, "oracle")[1] == "0.800 [0.600, 0.950]"
    assert "\n`*` sampled: estimated from random subsets" in markdown
    assert "- `rm`: reward model scores (nothing to go on, fell back to a tie, on 3 problems)" in markdown


def test_columns_are_powers_of_two_and_the_largest_pool():
    report = minimal_report()
    for name in ("rm", "random"):
        report["selectors"][name]["curve"] = report["selectors"][name]["curve"][:6]
    header = next(line for line in render_markdown(report).splitlines() if line.startswith("| selector |"))
    assert "| n=1 | n=2 | n=4 | n=6 |" in header and "n=3" not in header and "n=8" not in header


def test_findings_come_before_setup_and_selector_table():
    markdown = render_markdown(full_report())
    assert markdown.startswith("# Best-of-N selection on humaneval")
    assert markdown.index(FINDING) < markdown.index("## Setup") < markdown.index("| selector |")


def test_setup_section():
    markdown = render_markdown(full_report())
    assert "- Problems: humaneval (20 with at least one candidate)" in markdown
    assert "4 to 8 candidates per problem (mean 7.5)" in markdown
    assert "- Reward model: models/tiny-rm" in markdown
    assert "160 programs run (40 from cache), 33 passed" in markdown


def test_long_lists_are_truncated():
    markdown = render_markdown(full_report())
    assert "- line 3: unknown task_id 'X'" in markdown and "- line 9: no code field" in markdown
    assert "`HumanEval/119`, and 5 more." in markdown
    assert "HumanEval/120" not in markdown
    assert "25 problems had no candidate" in markdown


def test_bad_rows_beyond_the_listed_ones_are_counted():
    report = full_report()
    report["bad_rows"] = {"count": 30, "rows": [{"line": i, "reason": "bad json"} for i in range(1, 31)]}
    markdown = render_markdown(report)
    assert "- line 20: bad json" in markdown and "- line 21:" not in markdown
    assert "- and 10 more" in markdown


@pytest.mark.parametrize(
    ("rm_p50", "examples_p50", "expected"),
    [(0.01, 0.5, "**50x faster**"), (0.02, 0.05, "**2.5x faster**"), (0.2, 0.05, "**4.0x slower**")],
)
def test_speed_ratio_against_fastest_execution_selector(rm_p50, examples_p50, expected):
    report = full_report()
    report["selectors"]["rm"]["latency_s"]["p50"] = rm_p50
    report["selectors"]["examples"]["latency_s"]["p50"] = examples_p50
    # a slower execution selector must not be the one compared against
    report["selectors"]["codet"] = copy.deepcopy(report["selectors"]["examples"])
    report["selectors"]["codet"]["latency_s"]["p50"] = 30.0
    markdown = render_markdown(report)
    assert f"`rm` is {expected} than the fastest execution-based selector, `examples`" in markdown
    assert "- Execution-based: `examples`" in markdown and "`oracle` is left out" in markdown


def test_no_speed_ratio_without_an_execution_selector():
    markdown = render_markdown(minimal_report())
    assert "faster" not in markdown and "No speed comparison" in markdown


def test_images_and_optional_sections():
    full = render_markdown(full_report())
    for text in ("![accuracy vs N](accuracy_vs_n.png)", "![accuracy vs latency](accuracy_vs_latency.png)"):
        assert text in full
    for heading in ("## Skipped selectors", "## Bad pool rows", "## Problems without candidates"):
        assert heading in full
    assert "- `logprob`: the pool has no logprobs" in full

    minimal = render_markdown(minimal_report())
    for heading in ("## Skipped selectors", "## Bad pool rows", "## Problems without candidates"):
        assert heading not in minimal
    assert "sampled" not in minimal and "![accuracy vs N](accuracy_vs_n.png)" in minimal


def test_write_plots_writes_two_readable_pngs_and_no_temporary_files(tmp_path):
    from matplotlib.image import imread

    out = tmp_path / "report"
    paths = write_plots(full_report(), out)
    assert paths == [out / "accuracy_vs_n.png", out / "accuracy_vs_latency.png"]
    assert sorted(p.name for p in out.iterdir()) == ["accuracy_vs_latency.png", "accuracy_vs_n.png"]
    for path in paths:
        assert path.read_bytes()[:8] == PNG_SIGNATURE
        image = imread(path)
        assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 300 and image.shape[2] in (3, 4)


def test_write_plots_failure_leaves_nothing_behind(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    def broken(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken)
    with pytest.raises(OSError, match="disk full"):
        write_plots(full_report(), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_latency_plot_skips_oracle_and_floors_zero_latency(tmp_path, monkeypatch):
    from matplotlib.axes import Axes

    labels = {}
    original = Axes.annotate

    def recording(self, text, xy, *args, **kwargs):
        labels[text] = xy
        return original(self, text, xy, *args, **kwargs)

    monkeypatch.setattr(Axes, "annotate", recording)
    write_plots(full_report(), tmp_path)
    assert set(labels) == {"rm", "random", "examples"}
    assert labels["random"] == (bon_report.LATENCY_FLOOR_S, 0.3)
    assert labels["rm"] == (0.01, 0.35)


def test_summary_table_fits_the_terminal_and_carries_findings():
    report = full_report()
    long_finding = (
        "The reward model is tiny and untrained, so " + "its choices are no better than chance " * 6
    )
    report["findings"].append(long_finding.strip())
    table = summary_table(report)
    lines = table.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert lines[0].split() == ["selector", "accuracy", "[95%", "CI]", "vs", "random", "[95%", "CI]", "p50",
                                "latency", "executes"]  # fmt: skip
    assert lines[1].split() == [
        "rm",
        "0.350",
        "[0.200,",
        "0.500]",
        "+0.020",
        "[-0.050,",
        "+0.090]",
        "10",
        "ms",
        "no",
    ]
    assert f"- {FINDING}" in lines
    assert " ".join(table.split()).count("its choices are no better than chance") == 6
    assert "2 bad pool rows skipped (listed in report.md)" in lines
    assert "25 problems without candidates (not counted in accuracy)" in lines
    assert "skipped selectors: logprob (the pool has no logprobs)" in lines


def test_summary_table_omits_empty_counts():
    table = summary_table(minimal_report())
    assert "bad pool rows" not in table and "without candidates" not in table and "skipped" not in table
    assert FINDING in table
