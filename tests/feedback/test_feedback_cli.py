"""`codescaler feedback` as a user runs it: one-line errors, the report with its plots, export, purge."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from engine.feedback.location import Database
from engine.feedback.records import Event, RequestRecord, ShownItem
from tests.feedback.conftest import opened
from tests.lsp.conftest import CODESCALER, SERVER_ENV

DAY = 86400.0


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CODESCALER, "feedback", *args], capture_output=True, text=True, env=env or SERVER_ENV, timeout=120
    )


@pytest.fixture
def filled(tmp_path: Path) -> Path:
    """Forty requests over two days: rewards 0..3.9, the higher half accepted, the lower half dismissed."""
    path = tmp_path / "feedback.sqlite3"
    now = time.time()
    entries: list = []
    for number in range(40):
        reward = number / 10
        id = f"s-{number}"
        entries.append(
            RequestRecord(
                id=id,
                session="s",
                time=now - 2 * DAY + number * 3600,
                source="lsp",
                feature="inline",
                outcome="open",
                language="python",
                line_mode="single",
                cache="miss",
                total_ms=10.0 + number,
                engine_ms=9.0 + number,
                document="# x\n",
                cursor=3,
                items=[ShownItem(rank=1, length=5, reward=reward, score=reward, valid=True, text="hello")],
            )
        )
        entries.append(
            Event(request=id, kind="accepted" if number >= 20 else "dismissed", time=now, rank=1, chars=5)
        )
    with opened(Database(path=path)) as store:
        store.write(entries)
    return path


def test_stats_report_with_plots(filled: Path, tmp_path: Path):
    out = tmp_path / "report"
    done = run("stats", "--db", str(filled), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "acceptance rate 50.0%" in done.stdout and "by best reward" in done.stdout
    for name in ("report.md", "stats.json", "acceptance_vs_reward.png", "acceptance_over_time.png"):
        assert (out / name).stat().st_size > 0
    assert (out / "acceptance_vs_reward.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    stats = json.loads((out / "stats.json").read_text())
    rates = [bucket["rate"] for bucket in stats["by_reward"]]
    assert rates == [0.0, 0.0, 0.5, 1.0, 1.0]  # the calibration table shows the reward predicting acceptance
    assert stats["latency_ms"]["total"]["p50"] == 29.5


def test_since_keeps_later_requests(filled: Path):
    recent = json.loads(run("stats", "--db", str(filled), "--since", "1d", "--json").stdout)
    assert 0 < recent["requests"] < 40
    assert (
        json.loads(run("stats", "--db", str(filled), "--since", "2000-01-01", "--json").stdout)["requests"]
        == 40
    )


def test_threshold_recommends_the_split(filled: Path):
    done = run("threshold", "--db", str(filled))
    assert done.returncode == 0, done.stderr
    assert (
        "[completion]\nthreshold = 2.0" in done.stdout
    )  # removes every dismissal, loses no accepted character
    best = json.loads(run("threshold", "--db", str(filled), "--json").stdout)["best"]
    assert (best["removed_dismissed"], best["lost_chars_share"]) == (20, 0.0)


def test_export_then_purge(filled: Path, tmp_path: Path):
    out = tmp_path / "all.jsonl"
    assert run("export", "--db", str(filled), "--out", str(out)).returncode == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 40 and rows[0]["items"][0]["text"] == "hello" and rows[0]["outcome"] == "dismissed"
    purged = run("purge", "--db", str(filled), "--before", "1d")
    assert purged.returncode == 0 and purged.stdout.startswith("deleted ")
    left = json.loads(run("stats", "--db", str(filled), "--json").stdout)["requests"]
    assert left == 40 - int(purged.stdout.split()[1]) and 0 < left < 40
    assert run("purge", "--db", str(filled), "--all").returncode == 0
    assert json.loads(run("stats", "--db", str(filled), "--json").stdout)["requests"] == 0


def test_the_default_database_and_the_config_file(filled: Path, tmp_path: Path):
    data_home = tmp_path / "data"
    (data_home / "codescaler").mkdir(parents=True)
    filled.rename(data_home / "codescaler" / "feedback.sqlite3")
    env = {**SERVER_ENV, "XDG_DATA_HOME": str(data_home)}
    assert json.loads(run("stats", "--json", env=env).stdout)["requests"] == 40
    config = tmp_path / "config.toml"
    config.write_text(f'[feedback]\ndb = "{data_home / "codescaler" / "feedback.sqlite3"}"\n')
    assert json.loads(run("stats", "--json", "--config", str(config)).stdout)["requests"] == 40


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["stats", "--db", "/nonexistent/feedback.sqlite3"],
            "no feedback database at /nonexistent/feedback.sqlite3",
        ),
        (["stats", "--db", "mysql://x/y"], "unknown kind 'mysql'"),
        (["stats", "--db", "{db}", "--since", "yesterday"], "--since 'yesterday' is not a date"),
        (["purge", "--db", "{db}"], "say what to delete: --before DATE or --all"),
        (["pairs", "--db", "{db}", "--out", "{out}", "--min-gap", "-1"], "--min-gap must not be negative"),
    ],
)
def test_mistakes_get_one_line(args, message, filled: Path, tmp_path: Path):
    args = [arg.format(db=filled, out=tmp_path / "p.jsonl") for arg in args]
    done = run(*args)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"codescaler: error: {done.stderr.strip()[len('codescaler: error: ') :]}"
    ]
    assert message in done.stderr
    assert not (tmp_path / "p.jsonl").exists()


def test_pairs_need_texts(filled: Path, tmp_path: Path):
    done = run("pairs", "--db", str(filled), "--out", str(tmp_path / "p.jsonl"))
    assert done.returncode == 0
    assert (
        "wrote 0 pairs" in done.stdout and "single_item 20" in done.stdout
    )  # one item shown: nothing to prefer
