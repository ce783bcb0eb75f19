"""The editor objective for RL (`train-policy --objective fim`): tune the policy on what the editor asks of it.

Prompts are FIM prompts at cursors cut from training problems' references (training/fim_cursors.py, the
same cursors `curate --fim` uses), rendered by the policy's own FIM template. A rollout is judged as the
editor would judge the sample: cut at the cursor's stops (the template's, and the line end in single-line
mode), cleaned, checked for validity in place (`engine/cursor_candidates.from_samples`), then

* `EditorReward` (`--reward rm`): 0 when the editor would drop or reject the fill, else softplus of the
  reward model's score on the editor reward input: the editor's shaped reward, exactly;
* `EditorExecutionReward` (`--reward execution`, the baseline): 1 when the program with the fill in it
  passes the problem's tests in the sandbox, else 0.

`editor_report` measures a policy on held-out problems the same way: the share of samples the editor
keeps as valid, their mean shaped reward, and the pass rate of the completed programs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import msgspec

from engine.candidates import score_gated
from engine.cursor_candidates import CursorCandidates, CursorSampler, from_samples, stops_for
from engine.document import DocumentContext
from engine.generation.base import Sample, cut_at_stop
from engine.prompts.builder import fim_prompt
from engine.prompts.fim import fim_template
from engine.protocol import RankOptions
from engine.syntax.line_mode import line_mode
from training.evaluation.rm_accuracy import bootstrap_interval, rate
from training.fim_curation import reference_file
from training.fim_cursors import PATH_IN_EDITOR, choose_cursors
from training.problems import Problem
from training.rl_reward import completion_text
from training.sampling import problem_seed


def cursor_contexts(
    problems: dict[str, Problem], kinds: tuple[str, ...], per_kind: int, seed: int
) -> list[tuple[str, DocumentContext]]:
    """(task_id, the document and cursor an editor would send) for every chosen cursor of every problem
    with a usable reference."""
    found = []
    for task_id, problem in problems.items():
        reference = reference_file(problem)
        if reference is None:
            continue
        for cursor in choose_cursors(reference, kinds, per_kind, problem_seed(seed, task_id)):
            found.append((task_id, cursor.context(reference)))
    return found


def prompt_rows(
    problems: dict[str, Problem], tokenizer: Any, kinds: tuple[str, ...], per_kind: int, seed: int
) -> list[dict[str, Any]]:
    """GRPO rows: the FIM prompt text, and the columns the rewards need to rebuild the editor's view."""
    template = fim_template(None, tokenizer)
    rows = []
    for task_id, context in cursor_contexts(problems, kinds, per_kind, seed):
        mode = line_mode(context)
        prompt = fim_prompt(context, template, tokenizer)
        rows.append({"prompt": prompt.text, "task_id": task_id, "document": context.text,
                     "offset": context.offset, "stop": list(stops_for(prompt.stop, mode)), "line_mode": mode})  # fmt: skip
    return rows


def rollout(
    document: str, offset: int, stop: Sequence[str], mode: str, text: str
) -> tuple[DocumentContext, CursorCandidates]:
    """One rollout as the editor sees it: cut at its stops, cleaned, checked, with its reward input."""
    context = DocumentContext(document, offset, "python", PATH_IN_EDITOR)
    cut, stopped = cut_at_stop(text, stop)
    return context, from_samples(context, [Sample(cut, (), "stop" if stopped else "length")], mode)


class EditorReward:
    """The editor's shaped reward for rollouts: validity gate, then softplus of the reward-model score."""

    def __init__(self, scorer: Any, shaping: str = "softplus"):
        self.scorer, self.shaping = scorer, shaping

    def rewards(self, columns: dict[str, Sequence[Any]], texts: Sequence[str]) -> list[float]:
        found = [rollout(d, o, s, m, t) for d, o, s, m, t in
                 zip(columns["document"], columns["offset"], columns["stop"], columns["line_mode"], texts, strict=True)]  # fmt: skip
        kept = [
            (i, c) for i, (_, c) in enumerate(found) if c.completions
        ]  # dropped by cleaning: nothing shown
        queries = [c.queries[0] for _, c in kept]
        checks = [c.checks[0] for _, c in kept]
        rewards = [0.0] * len(texts)
        for (i, _), one in zip(kept, score_gated(self.scorer, queries, checks, self.shaping), strict=True):  # type: ignore[arg-type]
            rewards[i] = one.reward
        return rewards

    def trl_reward_function(self):
        async def editor_reward(
            prompts, completions, document, offset, stop, line_mode, **_: Any
        ) -> list[float]:
            columns = {"document": document, "offset": offset, "stop": stop, "line_mode": line_mode}
            return await asyncio.to_thread(self.rewards, columns, [completion_text(c) for c in completions])

        return editor_reward


class EditorExecutionReward:
    """1 when the program with the (cleaned, valid) fill in it passes its tests in the sandbox, else 0."""

    def __init__(self, problems: dict[str, Problem], workers: int | None = None):
        self.problems, self.workers = problems, workers

    def rewards(self, columns: dict[str, Sequence[Any]], texts: Sequence[str]) -> list[float]:
        from training.verify import verify_many

        runs = []
        for i, (task_id, d, o, s, m, t) in enumerate(zip(columns["task_id"], columns["document"], columns["offset"],
                                                         columns["stop"], columns["line_mode"], texts, strict=True)):  # fmt: skip
            context, found = rollout(d, o, s, m, t)
            if found.completions and found.checks[0].valid:
                runs.append((i, self.problems[task_id], found.completions[0].applied_to(context)))
        verdicts = verify_many(
            [(problem, code) for _, problem, code in runs], workers=self.workers, progress=False
        )
        rewards = [0.0] * len(texts)
        for (i, _, _), verdict in zip(runs, verdicts, strict=True):
            rewards[i] = 1.0 if verdict.passed else 0.0
        return rewards

    def trl_reward_function(self):
        async def editor_execution_reward(prompts, completions, task_id, document, offset, stop, line_mode,
                                          **_: Any) -> list[float]:  # fmt: skip
            columns = {
                "task_id": task_id,
                "document": document,
                "offset": offset,
                "stop": stop,
                "line_mode": line_mode,
            }
            return await asyncio.to_thread(self.rewards, columns, [completion_text(c) for c in completions])

        return editor_execution_reward


def editor_report(
    policy: str,
    scorer: Any,
    problems: dict[str, Problem],
    options: RankOptions,
    kinds: tuple[str, ...],
    per_kind: int = 1,
    seed: int = 0,
    workers: int | None = None,
) -> dict[str, Any]:
    """The policy in folder `policy` at held-out cursors, every sample counted: valid share, mean shaped
    reward (0 for a sample the editor drops or rejects) and pass rate of the completed programs, with 95%
    intervals."""
    from engine.generation.base import load_generator
    from training.verify import verify_many

    valid_hits, rewards, runs, sampled = [], [], [], 0
    with load_generator(policy) as generator:
        sampler = CursorSampler(generator)
        found_at = [(task_id, context, sampler.candidates(context, msgspec.structs.replace(options, seed=(seed + number) % 2**64)))
                    for number, (task_id, context) in enumerate(cursor_contexts(problems, kinds, per_kind, seed))]  # fmt: skip
    for task_id, context, found in found_at:
        sampled += found.generated
        shaped = [None] * len(found.completions)
        if scorer is not None and found.completions:
            shaped = score_gated(scorer, found.queries, found.checks, "softplus")
        for completion, check, one in zip(found.completions, found.checks, shaped, strict=True):
            valid_hits.append(float(check.valid))
            rewards.append(0.0 if one is None else one.reward)
            if check.valid:
                runs.append((problems[task_id], completion.applied_to(context)))
        dropped = found.generated - len(found.completions)
        valid_hits += [0.0] * dropped
        rewards += [0.0] * dropped
    verdicts = list(verify_many(runs, workers=workers, progress=False))
    passes = [float(v.passed) for v in verdicts] + [0.0] * (sampled - len(verdicts))
    scored = scorer is not None and bool(rewards)
    return {"samples": sampled, "valid": rate(valid_hits, seed),
            "mean_reward": sum(rewards) / len(rewards) if scored else None,
            "mean_reward_interval": list(bootstrap_interval(rewards, seed)) if scored else None,
            "pass": rate(passes, seed)}  # fmt: skip
