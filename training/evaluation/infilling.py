"""HumanEval-Infilling through the editor path: does the ranker's first suggestion make the program pass?

Each task is a program with a gap (`prompt` + missing code + `suffix`) and HumanEval's tests. The engine
completes the gap exactly as it completes an editor cursor (FIM prompt, N samples, the cleaning pipeline,
validity, reward model, ranking), and every cleaned candidate is run against the tests in the sandbox.
Pickers, all on the same ranked list:

* `top`: rank 1, what the editor shows first;
* `first`: the candidate from the lowest sample index, what an editor without a ranker shows (the first
  sample that survives cleaning);
* `logprob`: the valid candidate with the highest mean token log-probability (any candidate when none is
  valid): the policy ranking itself, behind the same validity gate, so `top - logprob` is what the reward
  model adds over the policy's own confidence;
* `oracle`: any candidate passes (the ceiling of any ranker on these samples);
* `reference`: the benchmark's own answer put through the same cleaning (the ceiling the pipeline allows).

Where the cursor stands: HumanEval-Infilling's gaps are whole lines (the prompt ends with a line break and
so does the missing code). An editor user asks for such code on an empty line, so the document is
`prompt + "\\n" + suffix` with the cursor at the start of that empty line, and a candidate becomes the
program `prompt + text + "\\n" + suffix` (the pipeline trims a candidate's trailing line break: the
document's own follows it). Putting the cursor at the start of the suffix's first line instead would make
every cleaned candidate run into that line, so nothing could pass. Gaps that are not whole lines (random
spans) keep the document `prompt + suffix`.

Runs are resumable: one fsynced line per finished task in `results.jsonl`, with the settings in
`settings.json`; a rerun skips finished tasks and refuses other settings.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from engine.cleaning.pipeline import clean
from engine.document import Completion, DocumentContext
from engine.errors import CodescalerError
from engine.jsonl import read_jsonl, string_field
from engine.protocol import Document, RankOptions, RankRequest, RankResult, ScoredCompletion
from engine.ranker import Ranker
from training.data.benchmarks import BENCHMARK_DATA
from training.evaluation.append_log import AppendLog
from training.evaluation.rm_accuracy import bootstrap_interval, rate
from training.problems import Problem, TestSpec
from training.progress import ProgressBar
from training.run_settings import check_run_settings
from training.sampling import problem_seed

SETS = {
    "single": ("single-line", "HumanEval-SingleLineInfilling.jsonl.gz"),
    "multi": ("multi-line", "HumanEval-MultiLineInfilling.jsonl.gz"),
    "random-span": ("random-span", "HumanEval-RandomSpanInfilling.jsonl.gz"),
    "random-span-light": ("random-span (light)", "HumanEval-RandomSpanInfillingLight.jsonl.gz"),
}
FIELDS = ("task_id", "entry_point", "prompt", "suffix", "canonical_solution", "test")
PICKERS = ("top", "first", "logprob", "oracle", "reference")
NO_ROOM = 0.01  # oracle - first below this: the samples leave a ranker nothing to gain
PATH_IN_EDITOR = "humaneval.py"  # gives the engine the language and the reward model a file name


@dataclass(frozen=True)
class InfillingTask:
    """One HumanEval-Infilling row: the program is `prompt + canonical_solution + suffix`."""

    task_id: str
    entry_point: str
    prompt: str
    suffix: str
    canonical_solution: str
    test: str

    @property
    def whole_lines(self) -> bool:
        """Whether the gap is whole lines, so that an editor user would ask for it on an empty line."""
        at_line_start = not self.prompt or self.prompt.endswith("\n")
        return at_line_start and self.canonical_solution.endswith("\n")

    def context(self) -> DocumentContext:
        """The document and cursor an editor would send for this gap (module docstring)."""
        gap = "\n" if self.whole_lines else ""
        return DocumentContext(self.prompt + gap + self.suffix, len(self.prompt), "python", PATH_IN_EDITOR)

    def problem(self) -> Problem:
        """The task as the verifier reads it: HumanEval's check(candidate) on `entry_point`."""
        return Problem(
            task_id=self.task_id,
            question=self.prompt,
            tests=TestSpec(
                kind="check", code=self.test, reference=self.prompt + self.canonical_solution + self.suffix
            ),
            entry_point=self.entry_point,
            source="humaneval-infilling",
        )


def bundled_path(set_name: str) -> Path:
    """The packaged copy of a HumanEval-Infilling set (training/benchmark_data/README.md)."""
    if set_name not in SETS:
        raise CodescalerError(f"unknown --set {set_name!r}: use {', '.join(SETS)}")
    return BENCHMARK_DATA / SETS[set_name][1]


def set_label(set_name: str | None, data: Path | None) -> str:
    """How reports name what was evaluated: the set, or the file given with --data."""
    if set_name is not None:
        return SETS[set_name][0] if set_name in SETS else set_name
    return data.name if data is not None else SETS["single"][0]


def load_tasks(path: Path, limit: int | None = None) -> list[InfillingTask]:
    """The first `limit` tasks of a .jsonl or .jsonl.gz file; a bad row is an error naming file and line,
    before any model loads."""
    if not path.is_file():
        raise CodescalerError(
            f"no infilling data at {path}: pass --data FILE.jsonl[.gz] with rows of {', '.join(FIELDS)}"
        )
    tasks: list[InfillingTask] = []
    seen: set[str] = set()
    for number, row in read_jsonl(path):
        if limit is not None and len(tasks) >= limit:
            break
        where = f"{path}:{number}"
        task = InfillingTask(**{name: string_field(row, name, where) or "" for name in FIELDS})
        if task.task_id in seen:
            raise CodescalerError(f"{where}: task_id {task.task_id!r} appears twice")
        seen.add(task.task_id)
        tasks.append(task)
    if not tasks:
        raise CodescalerError(f"{path} holds no tasks")
    return tasks


def program(task: InfillingTask, text: str, replace_chars: int = 0) -> str:
    """The program a candidate makes: inserted at the cursor, replacing `replace_chars` characters after
    it, exactly as the editor applies it."""
    context = task.context()
    return context.prefix + text + context.suffix[replace_chars:]


def top_pick(items: Sequence[ScoredCompletion]) -> ScoredCompletion | None:
    """Rank 1: what the editor shows first."""
    return min(items, key=lambda item: item.rank, default=None)


def first_pick(items: Sequence[ScoredCompletion]) -> ScoredCompletion | None:
    """The candidate from the earliest sample: what an editor without a ranker would show."""
    return min(items, key=lambda item: item.sample, default=None)


def cleaned_reference(task: InfillingTask) -> Completion | None:
    """The benchmark's answer after the editor's cleaning (None when cleaning drops it): a task whose
    reference fails after cleaning cannot be won by any candidate the pipeline lets through unchanged."""
    result = clean([Completion(task.canonical_solution)], task.context())
    return result.completions[0] if result.completions else None


Verifier = Callable[[Problem, Sequence[str]], list[Any]]


def sandbox_verifier(workers: int | None) -> Verifier:
    """Verdicts for one task's programs, `workers` sandboxes at a time; generated code runs only here."""
    from training.verify import verify_many

    def verify(problem: Problem, programs: Sequence[str]) -> list[Any]:
        return list(verify_many([(problem, code) for code in programs], workers=workers, progress=False))

    return verify


def task_record(task: InfillingTask, result: RankResult, verify: Verifier) -> dict[str, Any]:
    """Verify every candidate (and the cleaned reference) and keep what the report needs, including each
    candidate's text and scores, so results.jsonl can be re-analysed without sampling again."""
    reference = cleaned_reference(task)
    programs = [program(task, item.text, item.replace_chars) for item in result.items]
    reference_program = None if reference is None else program(task, reference.text, reference.replace_chars)
    distinct = list(dict.fromkeys([*programs, *([reference_program] if reference_program else [])]))
    verdicts = dict(zip(distinct, verify(task.problem(), distinct), strict=True))

    def passes(item: ScoredCompletion | None) -> bool:
        return item is not None and verdicts[program(task, item.text, item.replace_chars)].passed

    candidates = []
    for item, code in zip(result.items, programs, strict=True):
        candidates.append({"sample": item.sample, "rank": item.rank, "text": item.text,
                           "replace_chars": item.replace_chars, "valid": item.valid, "reason": item.reason,
                           "score": item.score, "reward": item.reward, "mean_logprob": item.mean_logprob,
                           "passed": verdicts[code].passed, "status": verdicts[code].status})  # fmt: skip
    top, first = top_pick(result.items), first_pick(result.items)
    return {
        "task_id": task.task_id,
        "top": passes(top),
        "first": passes(first),
        "oracle": any(row["passed"] for row in candidates),
        "reference": reference_program is not None and verdicts[reference_program].passed,
        "top_sample": None if top is None else top.sample,
        "first_sample": None if first is None else first.sample,
        "line_mode": result.line_mode,
        "generated": result.generated,
        "kept": len(result.items),
        "valid": sum(item.valid is True for item in result.items),
        "dropped": {name: count for name, count in result.dropped.items() if count},
        "timings": {stage: round(seconds, 4) for stage, seconds in result.timings.items()},
        "candidates": candidates,
    }


def check_settings(out: Path, settings: dict[str, Any]) -> None:
    """Record the run's settings on the first run; refuse to mix results made with other settings."""
    out.mkdir(parents=True, exist_ok=True)
    check_run_settings(
        out / "settings.json", settings, str(out), "use a new --out, or the same settings to resume it"
    )


def evaluate(
    ranker: Ranker,
    tasks: Sequence[InfillingTask],
    options: RankOptions,
    seed: int,
    verify: Verifier,
    log: AppendLog | None = None,
    progress: bool = False,
) -> list[dict[str, Any]]:
    """One record per task, in task order; tasks already in `log` (keyed by task_id) are not run again.
    The next task samples while the sandbox runs the previous one's candidates, and a record is logged
    only once complete, so a killed run resumes at the task it was working on."""
    done = log.rows if log is not None else {}
    records: dict[str, dict[str, Any]] = {t.task_id: done[t.task_id] for t in tasks if t.task_id in done}

    def finish(task: InfillingTask, result: RankResult) -> None:
        record = task_record(task, result, verify)
        if log is not None:
            log.record(task.task_id, **record)
        records[task.task_id] = record

    pending: Future[None] | None = None
    with ProgressBar(len(tasks), "infilling", "task", progress) as bar:
        bar.update(len(records))
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fim-verify") as pool:
            for task in tasks:
                if task.task_id in records:
                    continue
                task_options = _with_seed(options, problem_seed(seed, task.task_id))
                result = ranker.rank(RankRequest.of(task_options, document=Document.at(task.context())))
                if pending is not None:
                    pending.result()
                    bar.update()
                pending = pool.submit(finish, task, result)
            if pending is not None:
                pending.result()
                bar.update()
    return [records[task.task_id] for task in tasks]


def _with_seed(options: RankOptions, seed: int) -> RankOptions:
    """The task's own seed (so a resumed run samples a task as the first run did), and every candidate."""
    return msgspec.structs.replace(options, seed=seed, top_k=None, threshold=None)


def _rate(hits: Sequence[float], seed: int) -> dict[str, Any]:
    return {**rate(hits, seed), "passed": int(sum(hits))}


def logprob_passes(record: dict[str, Any]) -> bool:
    """Whether the `logprob` pick of a task record passes (computed from its candidates, so records
    written before this picker existed are read the same)."""
    candidates = record["candidates"]
    pool = [c for c in candidates if c["valid"] is True] or candidates
    scored = [c for c in pool if c["mean_logprob"] is not None]
    if not scored:
        return False
    return bool(max(scored, key=lambda c: (c["mean_logprob"], -c["sample"]))["passed"])


def _gain(hits: dict[str, list[float]], over: str, seed: int) -> dict[str, Any]:
    """top minus `over`, per task, with a paired 95% bootstrap interval."""
    difference = [top - other for top, other in zip(hits["top"], hits[over], strict=True)]
    low, high = bootstrap_interval(difference, seed)
    return {
        "difference": sum(difference) / len(difference) if difference else None,
        "interval": [low, high],
        "top_only": sum(d > 0 for d in difference),
        f"{over}_only": sum(d < 0 for d in difference),
    }


def report(records: Sequence[dict[str, Any]], seed: int = 0) -> dict[str, Any]:
    """Pass rates with 95% bootstrap intervals (paired: the same resampled tasks for every picker), the
    gain of top over first and over logprob, whether the samples leave room to gain at all, and the
    counts that say where candidates went."""
    hits = {
        picker: [float(logprob_passes(r) if picker == "logprob" else r[picker]) for r in records]
        for picker in PICKERS
    }
    dropped: Counter[str] = Counter()
    timings: Counter[str] = Counter()
    for record in records:
        dropped.update(record["dropped"])
        timings.update(record["timings"])
    return {
        "tasks": len(records),
        "pass_rate": {picker: _rate(hits[picker], seed) for picker in PICKERS},
        "top_minus_first": _gain(hits, "first", seed),
        "top_minus_logprob": _gain(hits, "logprob", seed),
        "room_to_gain": (sum(hits["oracle"]) - sum(hits["first"])) / len(records) if records else None,
        "top_differs_from_first": sum(record["top_sample"] != record["first_sample"] for record in records),
        "tasks_without_candidates": sum(record["kept"] == 0 for record in records),
        "candidates": {key: sum(record[key] for record in records) for key in ("generated", "kept", "valid")},
        "dropped": dict(sorted(dropped.items())),
        "line_mode": dict(Counter(str(record["line_mode"]) for record in records)),
        "seconds_per_task": {stage: total / len(records) for stage, total in sorted(timings.items())},
    }


def _fmt(rate: dict[str, Any]) -> str:
    if rate["rate"] is None:
        return "-"
    low, high = rate["interval"]
    return f"{rate['rate']:.3f} [{low:.3f}, {high:.3f}]"


def summary_line(label: str, summary: dict[str, Any], n: int) -> str:
    """The one line a user reads: the pickers with their intervals."""
    rates = summary["pass_rate"]
    return (
        f"infilling {label}: top {_fmt(rates['top'])}  first {_fmt(rates['first'])}  "
        f"logprob {_fmt(rates['logprob'])}  oracle {_fmt(rates['oracle'])}  ({summary['tasks']} tasks, n={n})"
    )


def gain_lines(summary: dict[str, Any]) -> list[str]:
    """What the ranking adds, in words: top over first and over logprob, and whether there was room."""
    lines = []
    for over in ("first", "logprob"):
        gain = summary[f"top_minus_{over}"]
        if gain["difference"] is None:
            continue
        low, high = gain["interval"]
        verdict = "better" if low > 0 else "worse" if high < 0 else "no different, within the interval,"
        lines.append(
            f"top - {over}: {gain['difference']:+.3f} [{low:+.3f}, {high:+.3f}]: the ranking is {verdict} than "
            f"{over} (top alone passes {gain['top_only']} tasks, {over} alone {gain[f'{over}_only']})."
        )
    room = summary["room_to_gain"]
    if room is not None and room < NO_ROOM:
        lines.append(
            f"No room to gain: the oracle passes only {room:.1%} more of the tasks than the first sample, so no "
            "ranker can do better on these samples; the policy must write passing fills first."
        )
    return lines


def detail_line(summary: dict[str, Any]) -> str:
    """The second line: how far the pipeline lets the reference through, and where candidates went."""
    counts = summary["candidates"]
    return (
        f"reference through cleaning {_fmt(summary['pass_rate']['reference'])}; top != first on "
        f"{summary['top_differs_from_first']} tasks; {counts['generated']} sampled, {counts['kept']} kept "
        f"after cleaning, {counts['valid']} valid"
    )


def _models_line(settings: dict[str, Any]) -> str:
    if "engine" in settings:
        return f"Engine {settings['engine']} (models {settings['models']})"
    return f"Policy `{settings['policy']}`, reward model `{settings['reward_model']}`"


def markdown(label: str, summary: dict[str, Any], settings: dict[str, Any]) -> str:
    """report.md: the pass-rate table and the counts, for pasting into notes."""
    rows = ["| picker | pass rate | 95% interval | passed |", "|---|---|---|---|"]
    for picker in PICKERS:
        rate = summary["pass_rate"][picker]
        if rate["rate"] is None:
            rows.append(f"| {picker} | - | - | 0 |")
            continue
        low, high = rate["interval"]
        rows.append(f"| {picker} | {rate['rate']:.3f} | [{low:.3f}, {high:.3f}] | {rate['passed']} |")
    counts = summary["candidates"]
    lines = [
        f"# HumanEval-Infilling ({label})",
        "",
        f"{_models_line(settings)}; n={settings['n']}, "
        f"max_new_tokens={settings['max_new_tokens']}, temperature={settings['temperature']}, "
        f"line mode {settings['line_mode']}, seed {settings['seed']}; {summary['tasks']} tasks.",
        "",
        *rows,
        "",
        "top: rank 1; first: the earliest sample that survives cleaning (no ranker); logprob: the valid "
        "candidate the policy is most confident in; oracle: any candidate passes; reference: the benchmark's "
        "answer through the same cleaning.",
        "",
        *gain_lines(summary),
        "",
    ]
    lines += [
        f"Top differs from first on {summary['top_differs_from_first']} tasks; "
        f"{summary['tasks_without_candidates']} tasks had no candidate left.",
        f"Candidates: {counts['generated']} sampled, {counts['kept']} kept after cleaning, "
        f"{counts['valid']} valid. Dropped by filter: "
        + (", ".join(f"{name} {count}" for name, count in summary["dropped"].items()) or "none")
        + ".",
        "",
    ]
    return "\n".join(lines)
