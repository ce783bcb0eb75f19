"""`codescaler models build-default`: the bundled policy and reward model, rebuilt from nothing but this
install, the standard library and MBPP+, with the project's own commands.

Stages, each recorded in `OUT/work/stages.json` when finished so a killed build resumes at the first
unfinished one (the long ones also checkpoint inside):

1. tokenizer: byte-level BPE on the stdlib sources (their paths and hashes go to `work/corpus.json`);
2. policy: a small Qwen3 trained from scratch on plain code, FIM examples and chat answers (corpus.py);
3. pairs: `curate` with variants on every MBPP+ problem (policy samples + the reference, its rewrites and
   its mutants, all verified in the sandbox), split by problem into training and held-out pairs;
4. fim_pairs: `curate --fim` with variants on the same problems (fills at line, partial and block cursors,
   verified by running the completed program), split the same way;
5. reward: `train-rm` from the policy on the training pairs of both kinds (`rm_completion_share`);
6. policy_rl: `train-policy --objective fim` with that reward model on the training problems, measured
   before and after at the held-out problems' cursors; the tuned policy is the one that ships;
7. evaluation (optional): `codescaler eval rm|bon|fim` and `eval rm --fim-set`, as a user would type them;
8. cards: README.md model cards with the data, the command, the seed, the times and the numbers.

HumanEval and HumanEval-Infilling are read only by stage 7.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from engine.errors import CodescalerError
from engine.jsonl import write_text_atomic
from training.default_models.lm_pretraining import PolicyShape, PretrainOptions
from training.run_settings import check_run_settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildConfig:
    """Everything that decides the result besides the stdlib, MBPP+ and the seed."""

    name: str
    vocab_size: int = 4096
    corpus_bytes: int = 14_000_000
    shape: PolicyShape = field(default_factory=PolicyShape)
    pretrain: PretrainOptions = field(default_factory=PretrainOptions)
    heldout_fraction: float = 0.15
    mbpp_limit: int | None = None
    curate_n: int = 2
    curate_max_new_tokens: int = 64
    temperature: float = 0.8
    max_pairs_per_problem: int = 6
    rm_epochs: float = 1.0
    rm_learning_rate: float = 2e-4
    rm_batch_size: int = 8
    rm_max_tokens: int = 1024
    rm_completion_share: float | None = 0.5
    fim_cursors_per_kind: int = 1
    fim_max_new_tokens: int = 48
    rl_steps: int = 150
    rl_prompts_per_step: int = 8
    rl_num_generations: int = 8
    rl_learning_rate: float = 5e-5
    rl_eval_samples: int = 4
    eval: dict[str, Any] = field(
        default_factory=lambda: {
            "bon_n": 8,
            "bon_limit": None,
            "bon_max_new_tokens": 256,
            "fim_limit": 300,
            "rm_fim_limit": None,
        }
    )


CONFIGS = {
    # About 60 minutes on 2 CPU cores (evaluation not counted; 35 before the completion-pair and RL stages): the shipped models.
    "cpu": BuildConfig("cpu"),
    # The same recipe and data with a larger policy for one GPU (about 6 passes over the stdlib).
    "gpu": BuildConfig(
        "gpu",
        vocab_size=8192,
        shape=PolicyShape(
            hidden_size=512,
            intermediate_size=1536,
            num_hidden_layers=8,
            num_attention_heads=8,
            num_key_value_heads=4,
        ),
        pretrain=PretrainOptions(
            steps=1500, window=1024, batch_size=16, learning_rate=1e-3, warmup_steps=100, checkpoint_steps=250
        ),
        curate_n=16,
        rm_epochs=2.0,
        rm_learning_rate=5e-5,
        rm_max_tokens=2048,
        rl_steps=400,
        rl_prompts_per_step=16,
        rl_learning_rate=2e-5,
        eval={
            "bon_n": 16,
            "bon_limit": None,
            "bon_max_new_tokens": 512,
            "fim_limit": None,
            "rm_fim_limit": None,
        },
    ),
    # Seconds, for tests: every stage runs, nothing is learnt.
    "smoke": BuildConfig(
        "smoke",
        vocab_size=600,
        corpus_bytes=200_000,
        shape=PolicyShape(
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=1,
            head_dim=32,
        ),
        pretrain=PretrainOptions(steps=6, window=128, batch_size=4, warmup_steps=2, checkpoint_steps=3),
        heldout_fraction=0.34,
        mbpp_limit=6,
        curate_n=2,
        curate_max_new_tokens=24,
        max_pairs_per_problem=3,
        rm_batch_size=4,
        rm_max_tokens=512,
        fim_max_new_tokens=16,
        rl_steps=2,
        rl_prompts_per_step=1,
        rl_num_generations=2,
        rl_eval_samples=2,
        eval={"bon_n": 2, "bon_limit": 2, "bon_max_new_tokens": 16, "fim_limit": 2, "rm_fim_limit": 4},
    ),
}


def held_out(task_id: str, fraction: float, seed: int) -> bool:
    """A problem's side of the split, from its id alone: stable across runs, data order and limits."""
    digest = hashlib.sha256(f"heldout:{seed}:{task_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


class Build:
    """One build folder: `policy/` and `reward/` (what ships) and `work/` (everything else)."""

    def __init__(self, out: Path, config: BuildConfig, seed: int, mbpp: str, evaluate: bool, progress: bool):
        self.out, self.work = out, out / "work"
        self.config, self.seed, self.mbpp = config, seed, mbpp
        # The pretrained policy: what curation samples from and the reward model starts from, before RL
        # tunes the copy in `policy/` (so a resumed stage always starts from the same weights).
        self.pretrained = self.work / "policy-pretrained"
        self.evaluate, self.progress = evaluate, progress
        self.work.mkdir(parents=True, exist_ok=True)
        self.settings = {
            "config": asdict(config),
            "seed": seed,
            "mbpp": mbpp,
            "python": platform.python_version(),
        }
        self._check_settings()
        state = self.work / "stages.json"
        self.stages: dict[str, Any] = json.loads(state.read_text()) if state.exists() else {}

    def _check_settings(self) -> None:
        way_out = "use a new folder, or the same --config, --seed and --mbpp to resume"
        check_run_settings(self.work / "settings.json", self.settings, str(self.out), way_out)

    def run(self) -> dict[str, Any]:
        steps: list[tuple[str, Callable[[], dict[str, Any]]]] = [
            ("tokenizer", self._tokenizer), ("policy", self._policy), ("pairs", self._pairs),
            ("fim_pairs", self._fim_pairs), ("reward", self._reward), ("policy_rl", self._policy_rl),
        ]  # fmt: skip
        if self.evaluate:
            steps.append(("evaluation", self._evaluation))
        for name, stage in steps:
            if name in self.stages:
                log.info("stage %s: done in an earlier run", name)
                continue
            log.info("stage %s", name)
            started = time.monotonic()
            result = stage()
            self.stages[name] = {**result, "seconds": round(time.monotonic() - started, 1)}
            write_text_atomic(self.work / "stages.json", json.dumps(self.stages, indent=2) + "\n")
            log.info("stage %s: finished in %.0f s", name, self.stages[name]["seconds"])
        from training.default_models.model_cards import write_cards

        write_cards(self.out, self.settings, self.stages)
        return self.stages

    # -- stages ---------------------------------------------------------------------------------------

    def _files(self) -> list[Any]:
        from engine.devtools.tiny_models import stdlib_files
        from training.default_models.corpus import SourceFile

        return [SourceFile(path, text) for path, text in stdlib_files(self.config.corpus_bytes)]

    def _tokenizer(self) -> dict[str, Any]:
        import sysconfig

        from engine.devtools.tiny_models import train_tokenizer

        files = self._files()
        records = [file.record() for file in files]
        corpus = {"source": "the Python standard library (tests and site-packages left out)",
                  "license": "PSF-2.0", "python": platform.python_version(),
                  "stdlib": sysconfig.get_paths()["stdlib"], "files": records}  # fmt: skip
        write_text_atomic(self.work / "corpus.json", json.dumps(corpus, indent=1) + "\n")
        tokenizer = train_tokenizer((f.text for f in files), self.config.vocab_size,
                                    self.config.shape.max_position_embeddings)  # fmt: skip
        staging = self.work / ".tokenizer"
        shutil.rmtree(staging, ignore_errors=True)
        tokenizer.save_pretrained(staging)
        shutil.rmtree(self.work / "tokenizer", ignore_errors=True)
        staging.rename(self.work / "tokenizer")
        digest = hashlib.sha256("".join(r["sha256"] for r in records).encode()).hexdigest()
        return {"files": len(files), "chars": sum(r["chars"] for r in records), "corpus_sha256": digest,
                "vocab_size": len(tokenizer)}  # fmt: skip

    def _problems(self) -> dict[str, Any]:
        from training.data.benchmarks import load_mbppplus

        return load_mbppplus(self.mbpp, self.config.mbpp_limit)

    def _is_held_out(self, task_id: str) -> bool:
        return held_out(task_id, self.config.heldout_fraction, self.seed)

    def _policy(self) -> dict[str, Any]:
        import torch
        from transformers import AutoTokenizer

        from engine.devtools.tiny_models import qwen3_config
        from engine.prompts.builder import problem_prompt
        from training.default_models.corpus import docstring_tasks, training_texts
        from training.default_models.lm_pretraining import pack, pretrain

        tokenizer = AutoTokenizer.from_pretrained(self.work / "tokenizer")
        files = self._files()
        train_problems = [p for p in self._problems().values() if not self._is_held_out(p.task_id)]
        instructions = list(docstring_tasks(files))
        mbpp = [(p.question, p.tests.reference) for p in train_problems if p.tests.reference]
        texts = training_texts(
            files, instructions + mbpp, lambda q: problem_prompt(q, tokenizer).text, self.seed
        )
        options = replace(self.config.pretrain, seed=self.seed)
        rows = pack(texts, tokenizer, options.window)
        log.info("policy data: %d examples (%d docstring tasks, %d MBPP+ answers), %d windows of %d tokens",
                 len(texts), len(instructions), len(mbpp), len(rows), options.window)  # fmt: skip
        config = qwen3_config(tokenizer, **asdict(self.config.shape), tie_word_embeddings=True)
        device = "cuda" if torch.cuda.is_available() else "cpu"
        model, summary = pretrain(rows, config, options, self.work / "policy.ckpt", device, self.progress)
        _save(model, tokenizer, self.pretrained)
        shutil.copytree(self.pretrained, self.out / "policy", dirs_exist_ok=True)
        (self.work / "policy.ckpt").unlink(missing_ok=True)
        return {**summary, "examples": len(texts), "docstring_tasks": len(instructions), "mbpp_answers": len(mbpp),
                "parameters": sum(p.numel() for p in model.parameters())}  # fmt: skip

    def _pairs(self) -> dict[str, Any]:
        from engine.generation.base import load_generator
        from training.curation import CurationOptions, curate, summary_row
        from training.data.pairs import read_pairs
        from training.sampling import SamplingSettings

        problems = self._problems()
        sampling = SamplingSettings(
            self.config.curate_n, self.config.curate_max_new_tokens, self.config.temperature, seed=self.seed
        )
        options = CurationOptions(
            sampling, max_pairs_per_problem=self.config.max_pairs_per_problem, variants=True
        )
        pairs = self.work / "pairs.jsonl"
        with load_generator(str(self.pretrained)) as generator:
            summary = curate(problems, generator, pairs, options, policy_name="bundled policy",
                             progress=self.progress)  # fmt: skip
        rows = read_pairs(pairs)
        train, held = self._split(rows, "pairs")
        origins: dict[str, int] = {}
        for pair in rows:
            key = f"{pair.provenance.get('pos_origin')}>{pair.provenance.get('neg_origin')}"
            origins[key] = origins.get(key, 0) + 1
        return {**summary_row(summary), "train_pairs": len(train), "heldout_pairs": len(held),
                "heldout_problems": sum(self._is_held_out(t) for t in problems), "pair_origins": origins}  # fmt: skip

    def _split(self, pairs: list[Any], name: str) -> tuple[list[Any], list[Any]]:
        """`pairs` by their problem's side: work/NAME.train.jsonl and work/NAME.heldout.jsonl."""
        from training.data.pairs import write_pairs

        split: dict[bool, list] = {True: [], False: []}
        for pair in pairs:
            split[self._is_held_out(pair.provenance["task_id"])].append(pair)
        write_pairs(self.work / f"{name}.train.jsonl", split[False])
        write_pairs(self.work / f"{name}.heldout.jsonl", split[True])
        return split[False], split[True]

    def _fim_pairs(self) -> dict[str, Any]:
        from engine.cursor_candidates import CursorSampler
        from engine.generation.base import load_generator
        from engine.protocol import RankOptions
        from training.data.pairs import read_pairs
        from training.fim_curation import FimCurationOptions, curate_fim

        sampling = RankOptions(n=self.config.curate_n, max_new_tokens=self.config.fim_max_new_tokens,
                               temperature=self.config.temperature, seed=self.seed)  # fmt: skip
        options = FimCurationOptions(sampling, cursors_per_kind=self.config.fim_cursors_per_kind, variants=True,
                                     max_pairs_per_cursor=self.config.max_pairs_per_problem)  # fmt: skip
        with load_generator(str(self.pretrained)) as generator:
            summary = curate_fim(self._problems(), CursorSampler(generator), self.work / "fim_pairs.jsonl", options,
                                 "bundled policy", self.progress)  # fmt: skip
        train, held = self._split(read_pairs(self.work / "fim_pairs.jsonl"), "fim_pairs")
        return {**asdict(summary), "train_pairs": len(train), "heldout_pairs": len(held)}

    def _reward(self) -> dict[str, Any]:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from training.data.pairs import read_pairs
        from training.pair_mixing import mix
        from training.reward_training import PairRow, RewardTrainingOptions, train_reward_model

        pairs = read_pairs(self.work / "pairs.train.jsonl") + read_pairs(self.work / "fim_pairs.train.jsonl")
        share = self.config.rm_completion_share
        mixed = mix(
            pairs, share if share is not None and len({p.names for p in pairs}) == 2 else None, self.seed
        )
        rows = [PairRow(p.question_content, p.code_pos, p.code_neg) for p in mixed]
        options = RewardTrainingOptions(
            epochs=self.config.rm_epochs, learning_rate=self.config.rm_learning_rate,
            batch_size=self.config.rm_batch_size, max_tokens=self.config.rm_max_tokens, eval_fraction=0.0,
            save_steps=100, seed=self.seed, resume=(self.work / "reward-training" / "checkpoints").is_dir(),
        )  # fmt: skip
        trained = self.work / "reward-training"
        summary = train_reward_model(rows, str(self.pretrained), trained, options)
        model = AutoModelForSequenceClassification.from_pretrained(trained)
        _save(model, AutoTokenizer.from_pretrained(trained), self.out / "reward")
        shutil.rmtree(trained / "checkpoints", ignore_errors=True)
        keep = ("pairs", "train_pairs", "steps", "train_loss", "shortened_pairs")
        return {**{k: summary[k] for k in keep}, "parameters": sum(p.numel() for p in model.parameters()),
                "completion_share": share, "rows_by_kind": _kinds(mixed)}  # fmt: skip

    def _policy_rl(self) -> dict[str, Any]:
        """GRPO with the editor objective from the pretrained policy (kept in work/policy-pretrained, so a
        resumed stage starts from it again), measured before and after on the held-out problems."""
        from engine.protocol import RankOptions
        from engine.reward.model_source import load_tokenizer
        from engine.reward.scorer import load_scorer
        from training import fim_objective
        from training.fim_cursors import SPAN_KINDS
        from training.policy_training import PolicyTrainingOptions, train_policy

        pretrained = self.pretrained
        problems = self._problems()
        train = {k: p for k, p in problems.items() if not self._is_held_out(k)}
        test = {k: p for k, p in problems.items() if self._is_held_out(k)}
        config = self.config
        rows = fim_objective.prompt_rows(train, load_tokenizer(str(pretrained)), SPAN_KINDS,
                                         config.fim_cursors_per_kind, self.seed)  # fmt: skip
        options = PolicyTrainingOptions(
            max_steps=config.rl_steps, num_generations=config.rl_num_generations,
            prompts_per_step=config.rl_prompts_per_step, max_completion_length=config.fim_max_new_tokens,
            temperature=1.0, learning_rate=config.rl_learning_rate, warmup_steps=min(10, config.rl_steps // 10),
            save_steps=25, seed=self.seed, use_vllm=False, resume=True,
        )  # fmt: skip
        sampling = RankOptions(n=config.rl_eval_samples, max_new_tokens=config.fim_max_new_tokens,
                               temperature=config.temperature)  # fmt: skip

        def measure(policy: Path) -> dict[str, Any]:
            return fim_objective.editor_report(str(policy), scorer, test, sampling, SPAN_KINDS,
                                               config.fim_cursors_per_kind, self.seed)  # fmt: skip

        tuned = self.work / "policy-rl"
        with load_scorer(str(self.out / "reward")) as scorer:
            before = measure(pretrained)
            done = tuned / "training_summary.json"  # written after the model: a finished run is reused
            if done.is_file() and (tuned / "config.json").is_file():
                summary = json.loads(done.read_text())
            else:
                reward = fim_objective.EditorReward(scorer).trl_reward_function()
                summary = train_policy(rows, str(pretrained), tuned, reward, options)
            after = measure(tuned)
        ship, why = ship_tuned(before, after)
        shutil.rmtree(self.out / "policy", ignore_errors=True)
        if ship:
            from transformers import AutoModelForCausalLM, AutoTokenizer

            model, tokenizer = (
                AutoModelForCausalLM.from_pretrained(tuned),
                AutoTokenizer.from_pretrained(tuned),
            )
            _save(model, tokenizer, self.out / "policy")
        else:
            shutil.copytree(pretrained, self.out / "policy")
        shutil.rmtree(tuned / "checkpoints", ignore_errors=True)
        rewards = summary["mean_reward_per_step"]
        return {"prompts": len(rows), "steps": summary["steps"], "held_out_problems": len(test),
                "first_rewards": rewards[:5], "last_rewards": rewards[-5:], "before": before, "after": after,
                "learning_rate": config.rl_learning_rate, "train_seconds": summary.get("train_seconds"),
                "shipped": "tuned" if ship else "pretrained",
                "why": why}  # fmt: skip

    def _evaluation(self) -> dict[str, Any]:
        """The three measurements, each run as the `codescaler eval` command a user would type."""
        from training.data.pairs import read_pairs, write_pairs

        policy, reward, settings = str(self.out / "policy"), str(self.out / "reward"), self.config.eval
        held = read_pairs(self.work / "pairs.heldout.jsonl")
        rm = [
            "eval",
            "rm",
            "--reward-model",
            reward,
            "--max-tokens",
            str(self.config.rm_max_tokens),
            "--data",
        ]
        runs = {"rm": [*rm, str(self.work / "pairs.heldout.jsonl")]}
        # The hard part of the held-out set: the rejected program is one edit away from a correct one.
        hard = [pair for pair in held if pair.provenance["neg_origin"] == "mutant"]
        if hard:
            write_pairs(self.work / "pairs.heldout.mutants.jsonl", hard)
            runs["rm-mutants"] = [*rm, str(self.work / "pairs.heldout.mutants.jsonl")]
        runs["rm-fim"] = ["eval", "rm", "--reward-model", reward, "--max-tokens", str(self.config.rm_max_tokens),
                          "--fim-set", "single", "--seed", str(self.seed), "--quiet"]  # fmt: skip
        if settings.get("rm_fim_limit"):
            runs["rm-fim"] += ["--limit", str(settings["rm_fim_limit"])]
        runs |= {
            "bon": ["eval", "bon", "--problems", "humaneval", "--policy", policy, "-n", str(settings["bon_n"]),
                    "--reward-model", reward, "--selectors", "rm,random,first,logprob,oracle",
                    "--max-new-tokens", str(settings["bon_max_new_tokens"]), "--seed", str(self.seed), "--quiet"],
            "fim": ["eval", "fim", "--set", "single", "--policy", policy, "--reward-model", reward,
                    "--seed", str(self.seed)],
        }  # fmt: skip
        if settings["bon_limit"]:
            runs["bon"] += ["--limit", str(settings["bon_limit"])]
        if settings["fim_limit"]:
            runs["fim"] += ["--limit", str(settings["fim_limit"])]
        results = {}
        for name, argv in runs.items():
            folder = self.work / f"eval-{name}"
            argv = [*argv, "--out", str(folder)]
            log.info("evaluation: codescaler %s", " ".join(argv))
            started = time.monotonic()
            done = subprocess.run(
                [sys.executable, "-m", "engine.cli.main", *argv], capture_output=True, text=True
            )
            if done.returncode != 0:
                raise CodescalerError(f"codescaler {' '.join(argv[:2])} failed: {done.stderr.strip()[-500:]}")
            report = json.loads((folder / "report.json").read_text())
            results[name] = {"argv": argv, "seconds": round(time.monotonic() - started, 1), "report": report}
        return {"runs": results}


def ship_tuned(before: dict[str, Any], after: dict[str, Any]) -> tuple[bool, str]:
    """Whether the RL-tuned policy ships, and why: only when it gains mean editor reward and loses neither
    valid share nor pass rate beyond the 95% intervals (fewer valid fills are fewer suggestions, whatever
    the reward model thinks of the rest)."""
    for key, label in (("valid", "valid share"), ("pass", "pass rate")):
        if after[key]["interval"][1] < before[key]["interval"][0]:
            return False, (f"RL lowered the {label} at held-out cursors ({before[key]['rate']:.3f} -> "
                           f"{after[key]['rate']:.3f}): the pretrained policy ships")  # fmt: skip
    if after["mean_reward"] is None or after["mean_reward"] <= before["mean_reward"]:
        return (
            False,
            "RL did not raise the mean editor reward at held-out cursors: the pretrained policy ships",
        )
    return (
        True,
        "RL raised the mean editor reward without losing valid share or pass rate: the tuned policy ships",
    )


def _kinds(pairs: list[Any]) -> dict[str, int]:
    from training.pair_mixing import is_completion_pair

    completion = sum(map(is_completion_pair, pairs))
    return {"completion": completion, "program": len(pairs) - completion}


def _save(model: Any, tokenizer: Any, folder: Path) -> None:
    """bf16 safetensors (half the bytes; the engine loads them as float32 on a CPU), config last."""
    import torch

    from training.reward_training import save_atomically

    folder.mkdir(parents=True, exist_ok=True)
    save_atomically(model.to(torch.bfloat16), tokenizer, folder)


def build_default(
    out: Path, config_name: str, seed: int, mbpp: str, evaluate: bool, progress: bool = True
) -> dict[str, Any]:
    if config_name not in CONFIGS:
        raise CodescalerError(f"unknown --config {config_name!r}: use one of {', '.join(CONFIGS)}")
    return Build(out, CONFIGS[config_name], seed, mbpp, evaluate, progress).run()
