"""`verify` throughput: programs per second with the default workers, on a fixed pool of real-looking programs.

The pool is built deterministically from the benchmarks' reference solutions: each reference, one passing
rewrite and two one-edit mutants (training/variants.py), for the first K HumanEval problems (`check` tests),
K MBPP+ problems (`call` tests, expected outputs from the reference) and K MBPP+ problems with MBPP's
original asserts (`asserts` tests). Expected outputs are computed once before the clock starts (they are a
per-problem cost that the on-disk cache removes in real use).

    python bench/verify_throughput.py [--per-style 40] [--repeat 2] [--json bench/results/verify_throughput_cpu.json]

Prints one line per style and the total; `--json` writes them with the git commit, so runs before and after
a sandbox change can be compared on the same pool.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.data.problems import load_problems
from training.variants import mutants, rewrites
from training.verify import verify_many

MBPP = Path(__file__).resolve().parents[2] / "shared" / "data" / "MbppPlus.json"


def reference_of(problem) -> str:
    if problem.tests.kind == "check":
        return problem.question + problem.metadata["canonical_solution"]
    return problem.tests.reference or problem.metadata.get("canonical_solution", "")


def pool(per_style: int) -> dict[str, list[tuple[object, str]]]:
    sources = {
        "check": load_problems("humaneval", per_style),
        "call": load_problems(f"mbppplus:{MBPP}", per_style),
        "asserts": load_problems(f"mbppplus-asserts:{MBPP}", per_style),
    }
    mbpp_refs = {p.task_id: p.tests.reference for p in sources["call"].values()}
    programs: dict[str, list[tuple[object, str]]] = {}
    for style, problems in sources.items():
        programs[style] = []
        for problem in problems.values():
            reference = reference_of(problem) if style != "asserts" else mbpp_refs[problem.task_id]
            for code in [
                reference,
                *rewrites(reference, seed=0, limit=1),
                *mutants(reference, seed=0, limit=2),
            ]:
                programs[style].append((problem, code))
    return programs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-style", type=int, default=40, help="problems per test style")
    parser.add_argument("--repeat", type=int, default=2, help="timed passes; the median is reported")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    programs = pool(args.per_style)
    for pairs in programs.values():  # warm-up: the isolation probe, and every problem's test plan
        list(verify_many(pairs, progress=False))
    results: dict[str, dict[str, float]] = {}
    all_pairs = [pair for pairs in programs.values() for pair in pairs]
    for style, pairs in [*programs.items(), ("all", all_pairs)]:
        times, passed = [], 0
        for _ in range(args.repeat):
            start = time.perf_counter()
            verdicts = list(verify_many(pairs, progress=False))
            times.append(time.perf_counter() - start)
            passed = sum(v.passed for v in verdicts)
        seconds = statistics.median(times)
        results[style] = {
            "programs": len(pairs),
            "passed": passed,
            "seconds": round(seconds, 2),
            "programs_per_s": round(len(pairs) / seconds, 2),
        }
        print(
            f"{style:8s} {len(pairs):4d} programs ({passed} pass)  {seconds:6.1f} s  {len(pairs) / seconds:5.2f}/s"
        )
    if args.json:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout
        report = {"commit": commit.strip(), "workers": os.cpu_count(), "per_style": args.per_style, **results}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
