"""Preference pairs in the CodeScalerPair format: `question_content`, `code_pos`, `code_neg`.

These are the released fields of LARK-Lab/CodeScalerPair-51K, so that dataset trains as is and pairs we
curate can be mixed with it. Curation adds provenance fields (task_id, source, policy, seed, sampling,
pos_results, neg_results, ...); they are kept as they are, never interpreted here.

Curation runs for hours, so `PairWriter` appends one fsynced line per pair and, when reopened, recovers
what a killed run left: complete lines are kept, a torn last line is cut off, and the keys already written
are known so the resumed job skips them.
"""

from __future__ import annotations

import ast
import json
import os
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import CodescalerError, first_line
from engine.jsonl import read_jsonl, write_jsonl_atomic
from training.data.hf import HFRef, load_dataset_rows, parse_hf_ref

PAIR_FIELDS = ("question_content", "code_pos", "code_neg")
# Completion pairs (`curate --fim`, `feedback pairs`) name the same three fields as editors and TRL's
# preference datasets do; a row uses one naming or the other, and is written back with the one it had.
EDITOR_FIELDS = ("question", "chosen", "rejected")


@dataclass(frozen=True)
class Pair:
    question_content: str
    code_pos: str  # passes all the problem's tests
    code_neg: str  # fails at least one
    provenance: dict[str, Any] = field(default_factory=dict)  # every other field of the row, as is
    names: tuple[str, str, str] = PAIR_FIELDS  # or EDITOR_FIELDS

    def to_row(self) -> dict[str, Any]:
        texts = (self.question_content, self.code_pos, self.code_neg)
        return {**dict(zip(self.names, texts, strict=True)), **self.provenance}

    def key(self) -> tuple[str, str, str]:
        """What makes two pairs the same: the problem (its task_id, else its text) and both programs up
        to formatting, comments and docstrings."""
        task = self.provenance.get("task_id")
        problem = task if isinstance(task, str) and task else self.question_content
        return problem, normalise_code(self.code_pos), normalise_code(self.code_neg)


def pair_from_row(row: dict[str, Any], where: str) -> Pair:
    """Validate one row (either naming); `where` ("file:line" or "file row i") prefixes every error."""
    names = EDITOR_FIELDS if PAIR_FIELDS[0] not in row and EDITOR_FIELDS[0] in row else PAIR_FIELDS
    for name in names:
        value = row.get(name)
        if value is None:
            raise CodescalerError(f"{where}: missing field '{name}'")
        if not isinstance(value, str):
            raise CodescalerError(f"{where}: field '{name}' must be a string, got {type(value).__name__}")
        if not value.strip():
            raise CodescalerError(f"{where}: field '{name}' is empty")
    provenance = {name: value for name, value in row.items() if name not in names}
    return Pair(*(row[name] for name in names), provenance, names)


def read_pairs(path: str | Path) -> list[Pair]:
    """The pairs of a JSONL file, or of anything `datasets` reads: a parquet/JSON/arrow file, a
    `save_to_disk` folder, or `hf:DATASET[:CONFIG[:SPLIT]]` (e.g. hf:LARK-Lab/CodeScalerPair-51K)."""
    text = str(path)
    if text.startswith("hf:"):
        ref = parse_hf_ref(text)
    elif text.endswith(".jsonl"):
        return [pair_from_row(row, f"{text}:{line}") for line, row in read_jsonl(text)]
    elif text.endswith(".parquet") and Path(text).is_file():
        return [pair_from_row(row, f"{text} row {index}") for index, row in enumerate(_parquet_rows(text))]
    elif Path(text).exists():
        ref = HFRef(text)
    else:
        raise CodescalerError(f"no pairs file {text}: give a .jsonl, .parquet or .json file, or hf:DATASET")
    return [pair_from_row(row, f"{ref.dataset} row {index}") for index, row in load_dataset_rows(ref)]


def _parquet_rows(path: str) -> list[dict[str, Any]]:
    """A parquet file's rows, read with pyarrow: `datasets` refuses an empty file, which a curation run
    that found no pairs legitimately writes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path).to_pylist()
    except (OSError, pa.ArrowException) as exc:
        raise CodescalerError(f"cannot read parquet file {path}: {first_line(exc)}") from exc


def write_pairs(path: str | Path, pairs: Iterable[Pair]) -> None:
    """Write `pairs` as JSONL, atomically: readers see the old file or the complete new one."""
    write_jsonl_atomic(path, (_checked(pair, f"{path}: pair {i}").to_row() for i, pair in enumerate(pairs)))


def _checked(pair: Pair, where: str) -> Pair:
    """A pair built in code must be readable back: same checks as on read, and no provenance field may
    shadow one of the three pair fields."""
    clash = [name for name in (*PAIR_FIELDS, *EDITOR_FIELDS) if name in pair.provenance]
    if clash:
        raise CodescalerError(f"{where}: provenance field '{clash[0]}' would overwrite the pair's own")
    return pair_from_row(pair.to_row(), where)


class PairWriter:
    """Append pairs to a JSONL file one fsynced line at a time; reopening resumes a killed run.

    On open, the complete lines already in the file are read (an invalid one is an error naming its line:
    only the last line can be torn by a kill) and their keys remembered; a last line without its newline
    is a write cut short and is truncated away, unless it is a whole valid row, which gets its newline.
    One writer per file at a time.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.resumed = 0  # complete rows found on open
        self.dropped_partial = False  # whether a torn last line was cut off
        self._keys: set[tuple[str, str, str]] = set()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        newline_missing = self._recover() if self.path.exists() else False
        self._handle = open(self.path, "ab")  # noqa: SIM115 (closed by close())
        if newline_missing:
            self._append(b"\n")

    def _recover(self) -> bool:
        """Read the existing rows; returns True when the last one is whole but lacks its newline."""
        complete_end, tail, tail_number = 0, b"", 0
        with open(self.path, "rb") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.endswith(b"\n"):
                    tail, tail_number = line, number
                    break
                if line.strip():
                    self._remember(line, f"{self.path}:{number}")
                complete_end += len(line)
        if not tail:
            return False
        try:
            self._remember(tail, f"{self.path}:{tail_number}")
        except CodescalerError:
            os.truncate(self.path, complete_end)
            self.dropped_partial = True
            return False
        return True

    def _remember(self, line: bytes, where: str) -> None:
        try:
            row = json.loads(line.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise CodescalerError(f"{where}: not UTF-8 text ({exc.reason})") from exc
        except json.JSONDecodeError as exc:
            raise CodescalerError(f"{where}: invalid JSON ({exc.msg} at column {exc.colno})") from exc
        if not isinstance(row, dict):
            raise CodescalerError(f"{where}: expected a JSON object, got {type(row).__name__}")
        self._keys.add(pair_from_row(row, where).key())
        self.resumed += 1

    def __contains__(self, pair: Pair) -> bool:
        return pair.key() in self._keys

    def __len__(self) -> int:
        """Distinct pairs (by `Pair.key`) in the file: those found on open plus those written since."""
        return len(self._keys)

    def write(self, pair: Pair) -> bool:
        """Append `pair` durably; False (nothing written) when a pair with its key is already there."""
        key = _checked(pair, f"{self.path}: new pair").key()
        if key in self._keys:
            return False
        self._append((json.dumps(pair.to_row(), ensure_ascii=False) + "\n").encode("utf-8"))
        self._keys.add(key)
        return True

    def _append(self, data: bytes) -> None:
        self._handle.write(data)
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> PairWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def normalise_code(code: str) -> str:
    """A canonical text of `code` for deduplication: programs that differ only in formatting, comments,
    docstrings or line endings map to the same text. Python is parsed and unparsed (without docstrings);
    anything that does not parse keeps its text, with line endings unified, trailing whitespace stripped
    and blank lines dropped."""
    text = code.replace("\r\n", "\n").replace("\r", "\n")
    canonical = _python_canonical(text)
    return "\n".join(line.rstrip() for line in (canonical or text).split("\n") if line.strip())


def _python_canonical(text: str) -> str | None:
    try:
        with warnings.catch_warnings():  # invalid escapes in candidates' strings warn at parse time
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
        for node in list(_docstring_owners(tree)):
            node.body = node.body[1:] or ([ast.Pass()] if not isinstance(node, ast.Module) else [])
        return ast.unparse(tree)
    except (SyntaxError, ValueError, RecursionError):  # not Python, a NUL byte, or nested too deep
        return None


def _docstring_owners(
    tree: ast.Module,
) -> Iterator[ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
            and isinstance(node.body[0].value.value, str)
        ):
            yield node
