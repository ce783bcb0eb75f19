"""`codescaler models build-default`: the bundled policy and reward model, rebuilt from nothing but this
install, the standard library and MBPP+, with the project's own commands.

Stages, each recorded in `OUT/work/stages.json` when finished so a killed build resumes at the first
unfinished one (the long ones also checkpoint inside):

1. tokenizer: byte-level BPE on the stdlib sources (their paths and hashes go to `work/corpus.json`);
2. policy: a small Qwen3 trained from scratch on plain code, FIM examples and chat answers (corpus.py);
3. pairs: `curate` with variants on every MBPP+ problem (policy samples + the reference, its rewrites and
   its mutants, all verified in the sandbox), split by problem into training and held-out pairs;
4. reward: `train-rm` from the policy on the training pairs;
5. evaluation (optional): `codescaler eval rm|bon|fim`, run as the commands a user would type;
6. cards: README.md model cards with the data, the command, the seed, the times and the numbers.

HumanEval and HumanEval-Infilling are read only by stage 5.
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
    eval: dict[str, Any] = field(
        default_factory=lambda: {"bon_n": 8, "bon_limit": None, "bon_max_new_tokens": 256, "fim_limit": 300}
    )


CONFIGS = {
    # About 35 minutes on 2 CPU cores (evaluation not counted): the shipped models.
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
        eval={"bon_n": 16, "bon_limit": None, "bon_max_new_tokens": 512, "fim_limit": None},
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
        eval={"bon_n": 2, "bon_limit": 2, "bon_max_new_tokens": 16, "fim_limit": 2},
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
            ("reward", self._reward),
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
        _save(model, tokenizer, self.out / "policy")
        (self.work / "policy.ckpt").unlink(missing_ok=True)
        return {**summary, "examples": len(texts), "docstring_tasks": len(instructions), "mbpp_answers": len(mbpp),
                "parameters": sum(p.numel() for p in model.parameters())}  # fmt: skip

    def _pairs(self) -> dict[str, Any]:
        from engine.generation.base import load_generator
        from training.curation import CurationOptions, curate, summary_row
        from training.data.pairs import read_pairs, write_pairs
        from training.sampling import SamplingSettings

        problems = self._problems()
        sampling = SamplingSettings(
            self.config.curate_n, self.config.curate_max_new_tokens, self.config.temperature, seed=self.seed
        )
        options = CurationOptions(
            sampling, max_pairs_per_problem=self.config.max_pairs_per_problem, variants=True
        )
        pairs = self.work / "pairs.jsonl"
        with load_generator(str(self.out / "policy")) as generator:
            summary = curate(problems, generator, pairs, options, policy_name="bundled policy",
                             progress=self.progress)  # fmt: skip
        rows = read_pairs(pairs)
        split: dict[bool, list] = {True: [], False: []}
        for pair in rows:
            split[self._is_held_out(pair.provenance["task_id"])].append(pair)
        held, train = split[True], split[False]
        write_pairs(self.work / "pairs.train.jsonl", train)
        write_pairs(self.work / "pairs.heldout.jsonl", held)
        origins: dict[str, int] = {}
        for pair in rows:
            key = f"{pair.provenance.get('pos_origin')}>{pair.provenance.get('neg_origin')}"
            origins[key] = origins.get(key, 0) + 1
        return {**summary_row(summary), "train_pairs": len(train), "heldout_pairs": len(held),
                "heldout_problems": sum(self._is_held_out(t) for t in problems), "pair_origins": origins}  # fmt: skip

    def _reward(self) -> dict[str, Any]:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from training.data.pairs import read_pairs
        from training.reward_training import PairRow, RewardTrainingOptions, train_reward_model

        rows = [
            PairRow(p.question_content, p.code_pos, p.code_neg)
            for p in read_pairs(self.work / "pairs.train.jsonl")
        ]
        options = RewardTrainingOptions(
            epochs=self.config.rm_epochs, learning_rate=self.config.rm_learning_rate,
            batch_size=self.config.rm_batch_size, max_tokens=self.config.rm_max_tokens, eval_fraction=0.0,
            save_steps=100, seed=self.seed, resume=(self.work / "reward-training" / "checkpoints").is_dir(),
        )  # fmt: skip
        trained = self.work / "reward-training"
        summary = train_reward_model(rows, str(self.out / "policy"), trained, options)
        model = AutoModelForSequenceClassification.from_pretrained(trained)
        _save(model, AutoTokenizer.from_pretrained(trained), self.out / "reward")
        shutil.rmtree(trained / "checkpoints", ignore_errors=True)
        keep = ("pairs", "train_pairs", "steps", "train_loss", "shortened_pairs")
        return {**{k: summary[k] for k in keep}, "parameters": sum(p.numel() for p in model.parameters())}

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
