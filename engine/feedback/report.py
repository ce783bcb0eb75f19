"""`feedback stats` rendered: a terminal summary, report.md and two PNG plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine.jsonl import write_text_atomic
from engine.plots import new_figure, save_png_atomic

ACCEPTANCE_VS_REWARD = "acceptance_vs_reward.png"
ACCEPTANCE_OVER_TIME = "acceptance_over_time.png"


def _rate(group: dict[str, Any]) -> str:
    if group["rate"] is None:
        return "-"
    low, high = group["interval"]
    return f"{group['rate']:.1%} [{low:.1%}, {high:.1%}] of {group['shown']}"


def summary(stats: dict[str, Any]) -> str:
    """The figures a user reads first, one per line, then the tables."""
    if not stats["requests"]:
        return "no requests recorded yet: the language server records them as you use completions"
    latency = stats["latency_ms"]
    lines = [
        f"requests {stats['requests']} ({stats['first']} .. {stats['last']})",
        f"shown {stats['shown']}: accepted {stats['fully_accepted']}, partially {stats['partially_accepted']}, "
        f"dismissed {stats['dismissed']}, no outcome reported {stats['no_outcome']}",
        "acceptance rate "
        + (
            "- (no shown request with a known outcome)"
            if stats["acceptance_rate"] is None
            else f"{stats['acceptance_rate']:.1%} [{stats['acceptance_interval'][0]:.1%}, "
            f"{stats['acceptance_interval'][1]:.1%}] (95% Wilson interval)"
        ),
        f"accepted characters {stats['accepted_chars']}",
        f"latency p50/p95: total {latency['total']['p50']}/{latency['total']['p95']} ms, "
        f"engine {latency['engine']['p50']}/{latency['engine']['p95']} ms",
        "not shown: "
        + ", ".join(f"{name} {stats['outcomes'][name]}" for name in ("superseded", "empty", "failed")),
    ]
    for title, key in (("language", "by_language"), ("line mode", "by_line_mode"), ("kind", "by_feature")):
        if stats[key]:
            lines.append(
                f"by {title}: " + "; ".join(f"{name} {_rate(group)}" for name, group in stats[key].items())
            )
    if stats["by_reward"]:
        lines.append("by best reward (does a higher reward mean more acceptance?):")
        for bucket in stats["by_reward"]:
            lines.append(f"  {bucket['low']:>9.3f} .. {bucket['high']:<9.3f} {_rate(bucket)}")
    return "\n".join(lines)


def _plot_reward(axes: Any, buckets: list[dict[str, Any]]) -> None:
    middles = [(bucket["low"] + bucket["high"]) / 2 for bucket in buckets]
    rates = [bucket["rate"] for bucket in buckets]
    errors = [
        [rate - bucket["interval"][0] for rate, bucket in zip(rates, buckets, strict=True)],
        [bucket["interval"][1] - rate for rate, bucket in zip(rates, buckets, strict=True)],
    ]
    axes.errorbar(middles, rates, yerr=errors, marker="o", capsize=4)
    for x, bucket in zip(middles, buckets, strict=True):
        axes.annotate(
            f"n={bucket['shown']}",
            (x, bucket["rate"]),
            textcoords="offset points",
            xytext=(4, 6),
            fontsize="small",
        )
    axes.set_xlabel("best shown item's reward (bucket middle)")
    axes.set_ylabel("acceptance rate (95% CI)")
    axes.set_ylim(0, 1)
    axes.set_title("Does a higher reward mean more acceptance?")
    axes.grid(alpha=0.3)


def _plot_time(axes: Any, by_day: dict[str, dict[str, Any]]) -> None:
    days = list(by_day)
    rates = [by_day[day]["rate"] for day in days]
    axes.plot(days, rates, marker="o")
    axes.fill_between(
        days, [by_day[d]["interval"][0] for d in days], [by_day[d]["interval"][1] for d in days], alpha=0.2
    )
    axes.set_ylabel("acceptance rate (95% CI)")
    axes.set_ylim(0, 1)
    axes.set_title("Acceptance over time (UTC days)")
    axes.tick_params(axis="x", labelrotation=45)
    axes.grid(alpha=0.3)


def write_report(stats: dict[str, Any], out_dir: Path) -> list[Path]:
    """report.md, stats.json and the plots the data allows, each written atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data, draw in (
        (ACCEPTANCE_VS_REWARD, stats["by_reward"], _plot_reward),
        (ACCEPTANCE_OVER_TIME, stats["by_day"], _plot_time),
    ):
        if not data:
            continue
        figure = new_figure()
        draw(figure.add_subplot(), data)
        save_png_atomic(figure, out_dir / name)
        written.append(out_dir / name)
    images = "\n".join(f"![{path.stem.replace('_', ' ')}]({path.name})" for path in written)
    text = f"# Completion feedback\n\n```\n{summary(stats)}\n```\n\n{images}\n"
    write_text_atomic(out_dir / "report.md", text)
    write_text_atomic(out_dir / "stats.json", json.dumps(stats, indent=2) + "\n")
    return [out_dir / "report.md", out_dir / "stats.json", *written]
