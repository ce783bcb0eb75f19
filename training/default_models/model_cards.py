"""Model cards (README.md in each shipped folder) and `build.json`, written from what the build recorded,
so every number in a card is one the build measured and a rerun reproduces."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

from engine.jsonl import write_text_atomic

REAL_CHECKPOINTS = """\
For comparison, what real checkpoints are for (docs/models.md has the settings): the CodeScaler paper
reports that best-of-N with its reward models is on par with unit-test-based selection (CURE) at about a
tenth of the latency, and 76.9 on RM-Bench code for `LARK-Lab/CodeScaler-8B` (its base: 73.6). Measure your
own pair with the same commands: `codescaler eval bon --problems humaneval --policy Qwen/Qwen2.5-Coder-1.5B-Instruct
--reward-model LARK-Lab/CodeScaler-1.7B -n 8 --out bon` and `codescaler eval fim --policy Qwen/Qwen2.5-Coder-1.5B
--reward-model LARK-Lab/CodeScaler-1.7B --out fim`."""


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _interval(item: dict[str, Any]) -> str:
    low, high = item.get("interval") or (None, None)
    return "" if low is None else f" [{_pct(low)}, {_pct(high)}]"


def _command(settings: dict[str, Any]) -> str:
    return (
        f"codescaler models build-default OUT --config {settings['config']['name']} --seed {settings['seed']}"
    )


def _machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}"


def quality_section(stages: dict[str, Any]) -> str:
    """The measured numbers as a table, with the command behind each; a note when they were not run."""
    evaluation = stages.get("evaluation", {}).get("runs")
    if not evaluation:
        return "Not measured in this build (it ran with `--no-evaluate`).\n"
    rows = []
    for name, label in (("rm", "all"), ("rm-mutants", "the rejected program a one-edit mutant")):
        if name not in evaluation:
            continue
        rm = evaluation[name]["report"]
        rows.append((f"Reward model pairwise accuracy, held-out MBPP+ pairs: {label}",
                     f"{_pct(rm['accuracy'])}{_interval(rm)}", f"{rm['pairs']} pairs"))  # fmt: skip
    if "rm-fim" in evaluation:
        fim_pairs = evaluation["rm-fim"]["report"]
        if fim_pairs.get("accuracy") is not None:
            kinds = ", ".join(
                f"{kind} {_pct(v['accuracy'])} ({v['pairs']})" for kind, v in fim_pairs["by_kind"].items()
            )
            rows.append(("Reward model, HumanEval single-line infilling: the true middle over a failing one-edit "
                         f"mutant at the same cursor (by kind: {kinds})",
                         f"{_pct(fim_pairs['accuracy'])}{_interval(fim_pairs)}",
                         f"{fim_pairs['pairs']} pairs, {fim_pairs['tasks_with_pairs']} tasks"))  # fmt: skip
    bon = evaluation["bon"]["report"]
    size = bon["pool_size"]["max"]
    for name in ("rm", "random", "first", "logprob", "oracle"):
        row = bon["selectors"].get(name)
        if row and row.get("accuracy") is not None:
            rows.append((f"HumanEval best-of-{size}: {name}", f"{_pct(row['accuracy'])}{_interval(row)}",
                         f"{bon['n_problems']} problems"))  # fmt: skip
    fim = evaluation["fim"]["report"]
    for name in ("top", "first", "logprob", "oracle", "reference"):
        if name in fim["pass_rate"]:
            item = fim["pass_rate"][name]
            rows.append((f"HumanEval single-line infilling: {name}", f"{_pct(item['rate'])}{_interval(item)}",
                         f"{fim['tasks']} tasks"))  # fmt: skip
    rl = stages.get("policy_rl")
    if rl:
        for key, label in (
            ("valid", "share of samples the editor keeps as valid"),
            ("pass", "pass rate of the completed programs"),
        ):
            before, after = rl["before"][key], rl["after"][key]
            rows.append((f"Policy at held-out MBPP+ cursors, before → after RL: {label}",
                         f"{_pct(before['rate'])}{_interval(before)} → {_pct(after['rate'])}{_interval(after)}",
                         f"{rl['after']['samples']} samples, {rl['held_out_problems']} problems"))  # fmt: skip
        if rl["after"]["mean_reward"] is not None:
            rows.append(("Policy at held-out MBPP+ cursors, before → after RL: mean editor reward",
                         f"{rl['before']['mean_reward']:.3f} → {rl['after']['mean_reward']:.3f}",
                         f"{rl['after']['samples']} samples"))  # fmt: skip
    table = "| measurement | result | on |\n|---|---|---|\n" + "".join(
        f"| {a} | {b} | {c} |\n" for a, b, c in rows
    )
    commands = "\n".join(f"    codescaler {' '.join(run['argv'])}" for run in evaluation.values())
    return (
        f"{table}\nMeasured by the build with these commands (paths are the build folder's; on an installed "
        "copy `--policy bundled --reward-model bundled` name the same models, and a build's `work/` folder "
        f"holds the held-out pairs):\n\n{commands}\n"
    )


def _policy_card(settings: dict[str, Any], stages: dict[str, Any]) -> str:
    config, policy, tok, pairs = settings["config"], stages["policy"], stages["tokenizer"], stages["pairs"]
    shape, train = config["shape"], config["pretrain"]
    return f"""# codescaler bundled policy

A small fill-in-the-middle code model that the project trains itself on a laptop CPU, so `codescaler lsp`,
`rank` and `serve` work offline with nothing configured. It completes Python in the style of the standard
library; it is not a competent programmer. For real completions configure a real model (docs/models.md).

- **Architecture:** `Qwen3ForCausalLM`, {shape["num_hidden_layers"]} layers, hidden {shape["hidden_size"]},
  MLP {shape["intermediate_size"]}, {shape["num_attention_heads"]} heads ({shape["num_key_value_heads"]} KV),
  head dim {shape["head_dim"]}, tied embeddings; {policy["parameters"]:,} parameters; bf16 safetensors.
- **Tokenizer:** byte-level BPE, {tok["vocab_size"]} tokens, trained on the same corpus; Qwen's FIM tokens
  (`<|fim_prefix|>`, `<|fim_suffix|>`, `<|fim_middle|>`) and ChatML, so the engine detects its template.
- **Data:** the Python {settings["python"]} standard library (PSF-2.0; tests and site-packages left out):
  {tok["files"]} files, {tok["chars"]:,} characters, corpus sha256 `{tok["corpus_sha256"][:16]}…` (every file
  with its hash is listed in the build's `work/corpus.json`). Cut at top-level statements; half the snippets
  as FIM examples (a run of whole lines, or the rest of one line). Chat answers: {policy["docstring_tasks"]}
  stdlib functions asked for by their docstrings, and {policy["mbpp_answers"]} MBPP+ reference solutions
  from the training split ({pairs["heldout_problems"]} MBPP+ problems held out). HumanEval and
  HumanEval-Infilling were not used.
- **Training:** from scratch, {policy["steps"]} steps of {train["batch_size"]} x {train["window"]} tokens
  ({policy["tokens_seen"]:,} tokens, {policy["epochs"]} epochs), AdamW, peak lr {train["learning_rate"]},
  cosine; loss {policy["first_loss"]} → {policy["final_loss"]}; {policy["seconds"] / 60:.1f} minutes on
  {_machine()}.
{_rl_line(config, stages)}
- **Command:** `{_command(settings)}` (seed {settings["seed"]}).

## Measured quality

{quality_section(stages)}
{REAL_CHECKPOINTS}
"""


def _rl_line(config: dict[str, Any], stages: dict[str, Any]) -> str:
    rl = stages.get("policy_rl")
    if not rl:
        return "- **RL:** none in this build."
    return (f"- **RL (editor objective):** `train-policy --objective fim` with the bundled reward model: GRPO on "
            f"{rl['prompts']} FIM prompts at line, partial and block cursors of the training problems, the "
            f"editor's shaped reward (validity gate, softplus of the score on the editor reward input), "
            f"{rl['steps']} steps of {config['rl_prompts_per_step']} prompts x {config['rl_num_generations']} "
            f"rollouts, lr {rl['learning_rate']}; mean reward of the first steps {_mean(rl['first_rewards'])}, of "
            f"the last {_mean(rl['last_rewards'])}; {(rl.get('train_seconds') or rl['seconds']) / 60:.1f} minutes of "
            f"training. **Shipped: the {rl['shipped']} "
            f"policy** ({rl['why']}).")  # fmt: skip


def _mean(values: list[float]) -> str:
    return f"{sum(values) / len(values):.3f}" if values else "n/a"


def _reward_card(settings: dict[str, Any], stages: dict[str, Any]) -> str:
    config, reward, pairs = settings["config"], stages["reward"], stages["pairs"]
    origins = ", ".join(f"{k}: {v}" for k, v in sorted(pairs["pair_origins"].items()))
    return f"""# codescaler bundled reward model

A small CodeScaler-style reward model (a `Qwen3ForSequenceClassification` with one score) trained with
the project's own `curate` and `train-rm` from the bundled policy, so ranking works offline out of the
box. It reads a question and a program and returns an unbounded score; higher means more likely correct.
It learnt from a few thousand MBPP+ pairs and is far weaker than `LARK-Lab/CodeScaler-1.7B` (docs/models.md).

- **Architecture:** the bundled policy's decoder with a fresh score head; {reward["parameters"]:,} parameters;
  bf16 safetensors. Input: the engine's reward formatter (ChatML question/answer), at most
  {config["rm_max_tokens"]} tokens.
- **Data:** `curate --variants` on MBPP+ (EvalPlus tests, run in the project's sandbox): per problem
  {config["curate_n"]} policy samples plus the reference solution, its rewrites and its mutants; every
  program verified, passing ones paired with failing ones (at most {config["max_pairs_per_problem"]} pairs
  per problem). {pairs["train_pairs"]} training pairs, {pairs["heldout_pairs"]} held-out pairs from
  {pairs["heldout_problems"]} held-out problems. Pair origins (positive>negative): {origins}.
{_fim_pairs_line(stages)}
- **Training:** Bradley-Terry (TRL `RewardTrainer` via `train-rm`), {reward["steps"]} steps,
  {config["rm_epochs"]} epochs, lr {config["rm_learning_rate"]}, batch {config["rm_batch_size"]}; final
  training loss {reward["train_loss"]:.4f}; {stages["reward"]["seconds"] / 60:.1f} minutes on {_machine()}.
- **Command:** `{_command(settings)}` (seed {settings["seed"]}).

## Measured quality

{quality_section(stages)}
{REAL_CHECKPOINTS}
"""


def _fim_pairs_line(stages: dict[str, Any]) -> str:
    fim, reward = stages.get("fim_pairs"), stages["reward"]
    if not fim:
        return "- **Completion pairs:** none in this build."
    kinds = reward.get("rows_by_kind", {})
    return (f"- **Completion pairs:** `curate --fim --variants` on the same problems: fills at line, partial and "
            f"block cursors ({fim['fills_sampled']} policy fills sampled, {fim['fills_valid']} valid, "
            f"{fim['fills_passed']} passing, counted over the {fim['problems'] - fim['skipped_done']} problems of "
            f"the run that finished the stage; plus the reference middle and in-place mutants), each completed "
            f"program run in the sandbox; {fim['train_pairs']} training pairs (chosen>rejected origins: "
            f"{', '.join(f'{k} {v}' for k, v in sorted(fim['pairs_by_origin'].items()))}). "
            f"Mixed with the program pairs at completion share {reward.get('completion_share')}: "
            f"{kinds.get('completion', 0)} completion and {kinds.get('program', 0)} program rows.")  # fmt: skip


def write_cards(out: Path, settings: dict[str, Any], stages: dict[str, Any]) -> None:
    write_text_atomic(out / "policy" / "README.md", _policy_card(settings, stages))
    write_text_atomic(out / "reward" / "README.md", _reward_card(settings, stages))
    write_text_atomic(
        out / "build.json", json.dumps({"settings": settings, "stages": stages}, indent=2) + "\n"
    )
