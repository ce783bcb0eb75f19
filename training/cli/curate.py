"""`codescaler curate`: preference pairs from a policy's verified samples (resumable)."""

from __future__ import annotations

import json
import os
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path

import typer

from engine.cli.options import option
from engine.errors import CodescalerError
from training.cli.extra import needs_train_extra


def _export_parquet(jsonl: Path, out: Path) -> None:
    """The finished JSONL as parquet, written atomically."""
    from datasets import Dataset, Features, Value

    from training.data.pairs import PAIR_FIELDS, read_pairs

    rows = [pair.to_row() for pair in read_pairs(jsonl)]
    partial = out.with_name(out.name + ".partial")
    if rows:
        dataset = Dataset.from_list(rows)
    else:  # an empty file still needs the three columns to be readable
        dataset = Dataset.from_dict(
            {name: [] for name in PAIR_FIELDS}, Features({n: Value("string") for n in PAIR_FIELDS})
        )
    dataset.to_parquet(str(partial))
    os.replace(partial, out)


def curate(
    problems: str = typer.Option(..., help="humaneval | mbppplus | FILE.jsonl | hf:DATASET[:CONFIG[:SPLIT]]"),
    policy: str = typer.Option(..., help="Policy: local folder or hub id (tokenizer for openai)."),
    out: Path = typer.Option(..., help="Pairs file: .jsonl (appended, resumable) or .parquet (at the end)."),
    n: int = typer.Option(8, "-n", help="Samples per problem."),
    limit: int | None = typer.Option(None, help="Use only the first K problems."),
    policy_backend: str | None = option("policy_backend"),
    policy_url: str | None = option("policy_url"),
    api_key: str | None = option("api_key"),
    max_new_tokens: int | None = typer.Option(None, help="Longest sample, in tokens (1024; 128 with --fim)."),
    temperature: float = typer.Option(0.8, help="Sampling temperature."),
    top_p: float = typer.Option(0.95, help="Nucleus sampling."),
    seed: int = typer.Option(0, help="Run seed (each problem's seed derives from it and its task_id)."),
    max_pairs_per_problem: int = typer.Option(8, help="Cap on pairs per problem (per cursor with --fim)."),
    workers: int | None = typer.Option(None, help="Sandboxes at once (default: one per CPU)."),
    variants: bool = typer.Option(
        False, help="Add the reference solution, its rewrites and its mutants (verified like the samples)."
    ),
    fim: bool = typer.Option(
        False, help="Completion pairs: fills at cursors cut from each reference, through the editor's path."
    ),
    spans: str = typer.Option("line,partial,block", help="With --fim: the kinds of cursor to cut."),
    cursors_per_kind: int = typer.Option(1, help="With --fim: cursors of each kind per problem."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Sample, verify in the sandbox, and pair passing with failing programs per problem; with --fim, pair
    passing with failing fills at the same cursor (docs/training.md)."""
    from engine.generation.base import load_generator
    from engine.hub import check_available
    from training.curation import CurationOptions, summary_row
    from training.curation import curate as run
    from training.data.problems import load_problems
    from training.fim_cursors import parse_span_kinds
    from training.run_settings import check_run_settings
    from training.sampling import SamplingSettings

    if n < 2 and not (fim and variants):
        raise CodescalerError("-n must be at least 2: a pair needs a passing and a failing sample")
    kinds = parse_span_kinds(spans) if fim else ()
    if cursors_per_kind < 1:
        raise CodescalerError("--cursors-per-kind must be at least 1")
    check_available(policy, "--policy")
    parquet = out.suffix == ".parquet"
    work = out.with_name(out.name + ".jsonl") if parquet else out
    loaded = load_problems(problems, limit)
    max_new_tokens = max_new_tokens or (128 if fim else 1024)
    sampling = SamplingSettings(n, max_new_tokens, temperature, top_p, seed)
    recorded = {"problems": problems, "limit": limit, "policy": policy, "policy_backend": policy_backend,
                "sampling": asdict(sampling), "max_pairs_per_problem": max_pairs_per_problem, "variants": variants}  # fmt: skip
    if fim:
        recorded |= {"fim": True, "spans": list(kinds), "cursors_per_kind": cursors_per_kind}
    work.parent.mkdir(parents=True, exist_ok=True)
    way_out = "use a new --out, or the same settings to resume it"
    check_run_settings(work.with_name(work.name + ".settings.json"), recorded, str(out), way_out)
    with ExitStack() as stack:
        generator = stack.enter_context(
            load_generator(policy, policy_backend or "transformers", url=policy_url, api_key=api_key)
        )
        if fim:
            from engine.cursor_candidates import CursorSampler
            from engine.protocol import RankOptions
            from training.fim_curation import FimCurationOptions, curate_fim

            fim_options = FimCurationOptions(
                RankOptions(n=n, max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p, seed=seed),
                spans=kinds, cursors_per_kind=cursors_per_kind, max_pairs_per_cursor=max_pairs_per_problem,
                variants=variants, workers=workers,
            )  # fmt: skip
            summary = asdict(
                curate_fim(loaded, CursorSampler(generator), work, fim_options, policy, not quiet)
            )
        else:
            options = CurationOptions(
                sampling, max_pairs_per_problem=max_pairs_per_problem, workers=workers, variants=variants
            )
            summary = summary_row(
                run(loaded, generator, work, options, policy_name=policy, progress=not quiet)
            )
    if parquet:
        _export_parquet(work, out)
    typer.echo(json.dumps(summary))


def register(app: typer.Typer) -> None:
    app.command("curate")(needs_train_extra(curate))
