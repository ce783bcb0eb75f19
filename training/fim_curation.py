"""Completion pairs from execution: what the editor ranks, labelled by the sandbox.

For each problem with a reference solution that passes its tests, cursors are cut from the reference
(training/fim_cursors.py), in a file that starts with the problem statement as a comment. At each cursor the policy fills the gap through the editor's own path
(`CursorSampler`: FIM prompt, line mode, cleaning, validity in place); each valid fill completes the
program, which runs against the problem's tests in the sandbox. A fill whose program passes is paired
with one whose program fails, at the same cursor. With `variants`, fills made from the reference's own
middle join them: the middle itself, and one-edit mutants of the reference whose edit falls inside the
middle, edited in place (training/variants.py `site_mutants`). The sandbox, not the origin, decides a fill's side.

A row holds what the reward model reads, built by `editor_reward_pair` for that document and cursor
(`question`, `chosen`, `rejected`: the question is the code around the edited unit, the code is the unit
with the fill in it), the programs that were run (`chosen_program`, `rejected_program`), the fills, the
cursor, and where each fill came from. A pair is kept only when both fills give the same question (a fill
that changes the enclosing unit's extent would be judged against other context).

Resumable like `curate`: pairs are appended one fsynced line at a time, a problem is marked done in
`OUT.done` after its pairs are written, and seeds derive from the run's seed and the task_id.
"""

from __future__ import annotations

import ast
import logging
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from engine.cursor_candidates import CursorSampler
from engine.document import Completion, DocumentContext
from engine.editor_reward_input import editor_reward_pair
from engine.protocol import RankOptions
from engine.syntax.insertion import ParsedDocument
from training.curation import ProblemRun, choose_pairs, distinct
from training.data.pairs import EDITOR_FIELDS, Pair
from training.fim_cursors import SPAN_KINDS, Cursor, choose_cursors
from training.problems import Problem
from training.sampling import problem_seed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FimCurationOptions:
    sampling: RankOptions = field(default_factory=lambda: RankOptions(n=8, max_new_tokens=128))
    spans: tuple[str, ...] = SPAN_KINDS
    cursors_per_kind: int = 1
    max_pairs_per_cursor: int = 4
    variants: bool = False
    mutants_per_cursor: int = 4
    workers: int | None = None


@dataclass
class FimCurationSummary:
    problems: int = 0
    skipped_done: int = 0
    problems_without_reference: int = 0
    cursors: dict[str, int] = field(default_factory=dict)
    fills_sampled: int = 0
    fills_kept: int = 0  # after cleaning
    fills_valid: int = 0
    fills_passed: int = 0
    variant_fills: int = 0
    variant_fills_passed: int = 0
    pairs_written: int = 0
    pairs_already_there: int = 0
    pairs_question_differs: int = 0
    pairs_by_span: dict[str, int] = field(default_factory=dict)
    pairs_by_origin: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Fill:
    text: str
    replace_chars: int
    origin: str  # policy | reference | mutant
    question: str
    code: str
    program: str

    @classmethod
    def of(
        cls, completion: Completion, origin: str, query: tuple[str, str], context: DocumentContext
    ) -> Fill:
        """A fill from a completion at `context` and its reward input `query` (question, code)."""
        question, code = query
        return cls(
            completion.text, completion.replace_chars, origin, question, code, completion.applied_to(context)
        )


def reference_file(problem: Problem) -> str | None:
    """The file cursors are cut from: the problem statement as a comment (`task_header`; none when the
    statement is code the reference already holds, as HumanEval's signature and docstring), then the
    reference as `ast.unparse` writes it (the layout every variant shares); None without a parsable
    reference."""
    reference = problem.tests.reference
    if not reference:
        return None
    try:
        code = ast.unparse(ast.parse(reference))
    except (SyntaxError, ValueError):
        return None
    header = "" if problem.question.strip() in reference else task_header(problem.question)
    return header + code + "\n"


def task_header(question: str) -> str:
    """The problem statement as the comment above the code, as a file in an editor would carry its
    intent: the policy's prompt and the reward model's question both see it."""
    return "".join(f"# {line}".rstrip() + "\n" for line in question.strip().splitlines()) + "\n\n"


def variant_fills(cursor: Cursor, reference: str, seed: int, limit: int) -> list[Fill]:
    """The reference's own middle and up to `limit` one-edit mutants of it (edited in place, inside the
    middle), as fills that keep the document's syntax valid."""
    from training.variants import site_mutants

    context = cursor.context(reference)
    after = len(reference) - cursor.end
    middles = [(cursor.middle(reference), "reference")]
    for mutant, _ in site_mutants(reference, cursor.start, cursor.end, seed, limit):
        middles.append((mutant[cursor.start : len(mutant) - after], "mutant"))
    document = ParsedDocument.parse(context)
    fills = []
    for text, origin in middles:
        completion = Completion(text)
        if text.strip() and document.check(completion).valid:
            query = editor_reward_pair(context, completion, tree=document.insert(completion))
            fills.append(Fill.of(completion, origin, query, context))
    return fills


def curate_fim(
    problems: dict[str, Problem],
    sampler: CursorSampler,
    out: Path,
    options: FimCurationOptions = FimCurationOptions(),
    policy_name: str = "",
    progress: bool = True,
) -> FimCurationSummary:
    """Append completion pairs for every problem not yet done to `out`; returns what happened."""
    from training.verify import verify_many

    summary = FimCurationSummary(problems=len(problems))
    cursors_seen: Counter[str] = Counter()
    by_span: Counter[str] = Counter()
    by_origin: Counter[str] = Counter()
    with ProblemRun(out, problems, "curating fills", progress) as run:
        for task_id, problem in run.todo():
            reference = reference_file(problem)
            if reference is None:
                summary.problems_without_reference += 1
            seed = problem_seed(options.sampling.seed or 0, task_id)
            cursors = []
            if reference is not None:
                cursors = choose_cursors(reference, options.spans, options.cursors_per_kind, seed)
            per_cursor: list[tuple[Cursor, list[Fill]]] = []
            for number, cursor in enumerate(cursors):
                cursors_seen[cursor.span_kind] += 1
                context = cursor.context(reference)  # type: ignore[arg-type]
                sampling = msgspec.structs.replace(options.sampling, seed=(seed + number) % 2**64)
                found = sampler.candidates(context, sampling)
                summary.fills_sampled += found.generated
                summary.fills_kept += len(found.completions)
                fills = [
                    Fill.of(completion, "policy", query, context)
                    for completion, check, query in zip(
                        found.completions, found.checks, found.queries, strict=True
                    )
                    if check.valid and completion.text.strip()
                ]
                summary.fills_valid += len(fills)
                extra = []
                if options.variants:
                    extra = variant_fills(cursor, reference, seed + number, options.mutants_per_cursor)  # type: ignore[arg-type]
                summary.variant_fills += len(extra)
                per_cursor.append((cursor, fills + extra))
            programs = list(dict.fromkeys(fill.program for _, fills in per_cursor for fill in fills))
            verdicts = dict(zip(programs, verify_many([(problem, p) for p in programs], workers=options.workers,
                                                      progress=False), strict=True))  # fmt: skip
            for number, (cursor, fills) in enumerate(per_cursor):
                summary.fills_passed += sum(verdicts[f.program].passed for f in fills if f.origin == "policy")
                summary.variant_fills_passed += sum(
                    verdicts[f.program].passed for f in fills if f.origin != "policy"
                )
                for pair in _cursor_pairs(task_id, problem, cursor, fills, verdicts, options, seed + number,
                                          policy_name, summary):  # fmt: skip
                    if run.writer.write(pair):
                        summary.pairs_written += 1
                        by_span[cursor.span_kind] += 1
                        by_origin[
                            f"{pair.provenance['chosen_origin']}>{pair.provenance['rejected_origin']}"
                        ] += 1
                    else:
                        summary.pairs_already_there += 1
            run.finish(task_id)
    summary.skipped_done = run.skipped
    summary.cursors, summary.pairs_by_span, summary.pairs_by_origin = (
        dict(cursors_seen),
        dict(by_span),
        dict(by_origin),
    )
    return summary


def _cursor_pairs(
    task_id: str,
    problem: Problem,
    cursor: Cursor,
    fills: list[Fill],
    verdicts: dict[str, Any],
    options: FimCurationOptions,
    seed: int,
    policy_name: str,
    summary: FimCurationSummary,
) -> list[Pair]:
    passing = distinct((fill.code, fill) for fill in fills if verdicts[fill.program].passed)
    failing = distinct((fill.code, fill) for fill in fills if not verdicts[fill.program].passed)
    pairs = []
    for (_, chosen), (_, rejected) in choose_pairs(passing, failing, options.max_pairs_per_cursor, seed):
        if chosen.question != rejected.question:
            summary.pairs_question_differs += 1
            continue
        provenance = {
            "task_id": task_id, "source": problem.source, "policy": policy_name, "seed": seed,
            "kind": "fim", **cursor.as_row(),
            "chosen_fill": chosen.text, "rejected_fill": rejected.text,
            "chosen_replace_chars": chosen.replace_chars, "rejected_replace_chars": rejected.replace_chars,
            "chosen_program": chosen.program, "rejected_program": rejected.program,
            "chosen_origin": chosen.origin, "rejected_origin": rejected.origin,
            "rejected_status": verdicts[rejected.program].status,
            "rejected_detail": verdicts[rejected.program].detail,
        }  # fmt: skip
        pairs.append(Pair(chosen.question, chosen.code, rejected.code, provenance, EDITOR_FIELDS))
    return pairs


def summary_row(summary: FimCurationSummary) -> dict[str, Any]:
    return asdict(summary)
