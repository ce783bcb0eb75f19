"""Repository context on this machine: indexing a ~2,000-file workspace, its memory, one edit, retrieval.

    python bench/workspace_context.py [--workspace DIR] [--requests 200] [--json out.json]

The workspace defaults to the installed `torch` package folder (real code: Python and C++ headers; read
only), capped at `--max-files` 2,000 files. Figures:

* `index_s` — building the index (every file walked, read, parsed with tree-sitter, outlined), in this
  process, one thread; `files`, `symbols`;
* `index_rss_mib` — the process's resident memory after the build minus before it (the outlines kept;
  the texts are not);
* `refresh_ms` — re-outlining one file after an edit (`WorkspaceIndex.update`, what the language server
  does before a request when a document changed), p50/p95 over `--edits` files;
* `retrieval_ms` — `retrieve` for one request (the current file's outline, the definitions the cursor
  needs, BM25 over the windows of 20 recently edited files) at `--requests` cursors in random files,
  p50/p95, with the budget `context.max_chars` (4,000). The target is p50 <= 10 ms.

Results go to bench/results/workspace_context_cpu.json (atomically).
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.jsonl import write_text_atomic  # noqa: E402
from engine.workspace.files import FileRules, source_files  # noqa: E402
from engine.workspace.index import RECENT_FILES, WorkspaceIndex  # noqa: E402
from engine.workspace.retrieval import retrieve  # noqa: E402

DEFAULT_JSON = ROOT / "bench" / "results" / "workspace_context_cpu.json"
TARGET_RETRIEVAL_P50_MS = 10.0


def rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50": round(statistics.median(ordered), 3),
        "p95": round(ordered[int(0.95 * (len(ordered) - 1))], 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    default = importlib.util.find_spec("torch").submodule_search_locations[0]  # type: ignore[union-attr]
    parser.add_argument("--workspace", type=Path, default=Path(default))
    parser.add_argument("--max-files", type=int, default=2000, help="index at most this many files")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--edits", type=int, default=50)
    parser.add_argument("--budget", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    gc.collect()
    before = rss_mib()
    rules = FileRules(max_files=args.max_files)
    index = WorkspaceIndex(args.workspace, rules)
    started = time.perf_counter()
    index.build()
    index_s = time.perf_counter() - started
    gc.collect()
    held = rss_mib() - before
    stats = index.stats()

    paths = [p for p in source_files(index.root, rules) if p.suffix == ".py"]
    texts = {
        p: p.read_text(encoding="utf-8", errors="replace") for p in rng.sample(paths, min(len(paths), 400))
    }
    edited = rng.sample(list(texts), min(args.edits, len(texts)))
    refresh = []
    for path in edited:
        text = texts[path] + "\n\ndef added_by_the_benchmark(x):\n    return x\n"
        started = time.perf_counter()
        index.update(path, text)
        refresh.append((time.perf_counter() - started) * 1000)
    for path in edited[-RECENT_FILES:]:  # these are the "recently edited" files similar code comes from
        index.update(path, texts[path])

    retrieval, snippets, definitions = [], [], 0
    candidates = [p for p in texts if texts[p].count("\n") > 20]
    for _ in range(args.requests):
        path = rng.choice(candidates)
        text = texts[path]
        lines = text.split("\n")
        line = rng.randrange(10, len(lines))
        cursor = sum(len(x) + 1 for x in lines[:line]) + len(lines[line]) // 2
        started = time.perf_counter()
        found = retrieve(index, str(path), text, cursor, args.budget)
        retrieval.append((time.perf_counter() - started) * 1000)
        snippets.append(len(found.snippets))
        definitions += sum(s.kind == "definition" for s in found.snippets)

    report = {
        "benchmark": "workspace_context",
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
        "workspace": str(args.workspace),
        "max_files": args.max_files,
        "files": stats.files,
        "symbols": stats.symbols,
        "index_s": round(index_s, 2),
        "index_rss_mib": round(held, 1),
        "refresh_ms": percentiles(refresh),
        "retrieval_ms": percentiles(retrieval),
        "retrieval_target_p50_ms": TARGET_RETRIEVAL_P50_MS,
        "retrieval_target_met": statistics.median(retrieval) <= TARGET_RETRIEVAL_P50_MS,
        "requests": args.requests,
        "budget_chars": args.budget,
        "mean_snippets": round(sum(snippets) / len(snippets), 2),
        "mean_definitions": round(definitions / len(snippets), 2),
    }
    write_text_atomic(args.json, json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "machine"}, indent=2))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
