"""Verdicts of a verifier on MBPP+ (all 399 problems, `call` tests and MBPP's original asserts; each
reference with one rewrite and two mutants), to compare two versions of the verifier program by program.

    git worktree add /tmp/before d3efba0                      # the verifier to compare with
    python bench/verify_verdicts.py --tree /tmp/before --out /tmp/before.json
    python bench/verify_verdicts.py --out /tmp/after.json     # this checkout
    python bench/verify_verdicts.py --compare /tmp/before.json /tmp/after.json

`--compare` prints the pass counts of both and every program whose pass/fail verdict differs.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

MBPP = Path(__file__).resolve().parents[2] / "shared" / "data" / "MbppPlus.json"


def verdicts(tree: Path, out: Path) -> None:
    sys.path.insert(0, str(tree))
    from training.data.problems import load_problems
    from training.variants import mutants, rewrites
    from training.verify import verify_many

    calls, asserts = load_problems(f"mbppplus:{MBPP}"), load_problems(f"mbppplus-asserts:{MBPP}")
    pairs, keys = [], []
    for task_id, problem in calls.items():
        reference = problem.tests.reference
        for number, code in enumerate([reference, *rewrites(reference, 0, 1), *mutants(reference, 0, 2)]):
            for style, source in (("call", calls), ("asserts", asserts)):
                pairs.append((source[task_id], code))
                keys.append(f"{style} {task_id} {number}")
    rows = {key: [v.status, v.detail[:200]] for key, v in zip(keys, verify_many(pairs), strict=True)}
    out.write_text(json.dumps(rows, indent=0) + "\n")
    print(f"{len(rows)} verdicts, {sum(status == 'passed' for status, _ in rows.values())} passed -> {out}")


def compare(before: Path, after: Path) -> None:
    old, new = json.loads(before.read_text()), json.loads(after.read_text())
    for style in ("call", "asserts"):
        keys = [key for key in old if key.startswith(style + " ")]
        passed = [sum(rows[key][0] == "passed" for key in keys) for rows in (old, new)]
        print(f"{style}: {len(keys)} programs, {passed[0]} pass before, {passed[1]} after")
    for key in old:
        if (old[key][0] == "passed") != (new[key][0] == "passed"):
            print(f"  {key}: {old[key][0]} {old[key][1][:80]!r} -> {new[key][0]} {new[key][1][:80]!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tree", type=Path, default=Path(__file__).resolve().parents[1], help="checkout to run"
    )
    parser.add_argument("--out", type=Path, help="write the verdicts here")
    parser.add_argument("--compare", type=Path, nargs=2, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    if args.compare:
        compare(*args.compare)
    elif args.out:
        verdicts(args.tree, args.out)
    else:
        parser.error("give --out or --compare")


if __name__ == "__main__":
    main()
