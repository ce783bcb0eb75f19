"""Pair files in the CodeScalerPair format: reading, writing, resumable appending, code normalisation."""

from __future__ import annotations

import json

import pytest

from engine.errors import CodescalerError
from training.data import Pair, PairWriter, normalise_code, read_pairs, write_pairs

datasets = pytest.importorskip("datasets")

QUESTION = "Given an array nums and an integer k, return the number of subarrays that sum to k."
POS = "def solve(nums, k):\n    seen = {0: 1}\n    total = count = 0\n    for x in nums:\n        total += x\n        count += seen.get(total - k, 0)\n        seen[total] = seen.get(total, 0) + 1\n    return count\n"
NEG = "def solve(nums, k):\n    return sum(1 for x in nums if x == k)\n"


def pair(i: int = 0, **provenance) -> Pair:
    return Pair(QUESTION, POS + f"# variant {i}\nX = {i}\n", NEG, {"task_id": f"t/{i}", **provenance})


@pytest.fixture(autouse=True)
def _datasets_cache(tmp_path, monkeypatch):
    """Keep `load_dataset`'s arrow cache out of the user's home."""
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-cache")


def test_jsonl_round_trip_keeps_provenance(tmp_path):
    path = tmp_path / "pairs.jsonl"
    pairs = [
        pair(0, source="lcbv5", policy="Qwen3-8B-Base", seed=3, sampling={"temperature": 0.6}),
        pair(1, pos_results=[True, True], neg_results=[True, False]),
        Pair(QUESTION, POS, NEG),
    ]
    write_pairs(path, pairs)
    assert read_pairs(path) == pairs
    first = json.loads(path.read_text().splitlines()[0])
    assert list(first)[:3] == ["question_content", "code_pos", "code_neg"] and first["seed"] == 3


def test_parquet_with_exactly_the_released_columns_reads_through_datasets(tmp_path):
    """LARK-Lab/CodeScalerPair-51K is parquet with exactly these three columns: it must read as is."""
    rows = [{"question_content": QUESTION, "code_pos": POS, "code_neg": NEG + f"# {i}\n"} for i in range(3)]
    path = tmp_path / "train-00000-of-00001.parquet"
    datasets.Dataset.from_list(rows).to_parquet(str(path))
    for reference in (str(path), f"hf:{path}"):
        pairs = read_pairs(reference)
        assert [p.to_row() for p in pairs] == rows
        assert all(p.provenance == {} for p in pairs)
    folder = tmp_path / "saved"
    datasets.Dataset.from_list(rows).save_to_disk(str(folder))
    assert [p.to_row() for p in read_pairs(folder)] == rows


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"question_content": QUESTION, "code_pos": POS}, "missing field 'code_neg'"),
        (
            {"question_content": QUESTION, "code_pos": 3, "code_neg": NEG},
            "field 'code_pos' must be a string, got int",
        ),
        ({"question_content": " \n", "code_pos": POS, "code_neg": NEG}, "field 'question_content' is empty"),
    ],
)
def test_bad_jsonl_rows_name_the_file_line_and_field(tmp_path, row, message):
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps(pair().to_row()) + "\n" + json.dumps(row) + "\n")
    with pytest.raises(CodescalerError) as error:
        read_pairs(path)
    assert str(error.value) == f"{path}:2: {message}"


def test_bad_parquet_rows_name_the_file_row_and_field(tmp_path):
    path = tmp_path / "pairs.parquet"
    rows = [{"question_content": QUESTION, "code_pos": POS, "code_neg": NEG}] * 2
    datasets.Dataset.from_list(
        [*rows, {"question_content": QUESTION, "code_pos": POS, "code_neg": None}]
    ).to_parquet(str(path))
    with pytest.raises(CodescalerError) as error:
        read_pairs(path)
    assert str(error.value) == f"{path} row 2: missing field 'code_neg'"
    with pytest.raises(
        CodescalerError, match=r"^no pairs file .*missing.parquet: give a .jsonl, .parquet or .json"
    ):
        read_pairs(tmp_path / "missing.parquet")


def test_write_refuses_pairs_that_could_not_be_read_back(tmp_path):
    path = tmp_path / "pairs.jsonl"
    with pytest.raises(CodescalerError, match=r"pair 1: field 'code_neg' is empty"):
        write_pairs(path, [pair(), Pair(QUESTION, POS, "")])
    with pytest.raises(CodescalerError, match=r"pair 0: provenance field 'code_pos' would overwrite"):
        write_pairs(path, [Pair(QUESTION, POS, NEG, {"code_pos": "x"})])
    assert not path.exists()  # atomic: nothing half-written


def test_pair_writer_resumes_after_a_kill(tmp_path):
    path = tmp_path / "curated" / "pairs.jsonl"
    with PairWriter(path) as writer:
        assert writer.resumed == 0
        assert [writer.write(pair(i)) for i in range(3)] == [True, True, True]
    complete = path.read_bytes()
    torn = json.dumps(pair(3).to_row())[:57]  # a kill in the middle of the fourth line
    path.write_bytes(complete + torn.encode())

    with PairWriter(path) as writer:
        assert writer.resumed == 3 and writer.dropped_partial and len(writer) == 3
        assert path.read_bytes() == complete  # the torn line is gone, the complete rows are intact
        assert pair(1) in writer and pair(3) not in writer
        reformatted = Pair(
            QUESTION, pair(1).code_pos.replace("# variant 1\n", "") + "\n\n", NEG, {"task_id": "t/1"}
        )
        assert not writer.write(reformatted)  # same program up to comments and blank lines
        assert writer.write(pair(3)) and not writer.write(pair(3))
        assert len(writer) == 4

    pairs = read_pairs(path)
    assert [p.provenance["task_id"] for p in pairs] == ["t/0", "t/1", "t/2", "t/3"]


def test_pair_writer_keeps_a_whole_last_row_that_lost_only_its_newline(tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps(pair(0).to_row()) + "\n" + json.dumps(pair(1).to_row()))
    with PairWriter(path) as writer:
        assert writer.resumed == 2 and not writer.dropped_partial
        writer.write(pair(2))
    assert len(read_pairs(path)) == 3


def test_pair_writer_refuses_a_file_broken_before_its_last_line(tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps(pair(0).to_row()) + "\n{broken\n" + json.dumps(pair(1).to_row()) + "\n")
    before = path.read_bytes()
    with pytest.raises(CodescalerError, match=rf"^{path}:2: invalid JSON"):
        PairWriter(path)
    assert path.read_bytes() == before  # nothing truncated: this is not a torn write


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("x = 1\r\ny = 2\r\n", "x = 1\ny = 2"),  # line endings
        ("x = 1   \n\n\n\ny = 2\n\n", "x = 1\ny = 2"),  # trailing whitespace, blank lines
        ("x = 1  # one\n# a comment\ny = 2", "x = 1\ny = 2"),  # comments
        ("def f(a,b):\n  return (a+b)", "def f(a, b):\n    return a + b"),  # formatting
        ('def f():\n    """Add."""\n    return 1', "def f():\n    return 1"),  # docstrings
        ('"""Module doc."""\nimport os', "import os"),
        ('class A:\n    """Only a docstring."""', "class A:\n    pass"),
        ("let x = 1;  \r\n\r\nconsole.log(x);", "let x = 1;\nconsole.log(x);"),  # not Python: whitespace only
    ],
)
def test_normalise_code_maps_equivalent_programs_together(a, b):
    assert normalise_code(a) == normalise_code(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("print('# not a comment')", "print('')"),
        ("def f():\n    return 1", "def f():\n    return 2"),
        ("if x:\n    y()\nz()", "if x:\n    y()\n    z()"),  # indentation is meaning
        ("x = '\\d'", "x = 'd'"),
    ],
)
def test_normalise_code_keeps_differences_that_matter(a, b):
    assert normalise_code(a) != normalise_code(b)


def test_normalise_code_falls_back_on_code_that_does_not_parse():
    assert normalise_code("def f(:\n    pass  \r\n\n") == "def f(:\n    pass"
    assert normalise_code("x = 1\x00") == "x = 1\x00"
    assert normalise_code("(" * 500 + ")" * 500) == "(" * 500 + ")" * 500  # too deep for the parser


def test_empty_and_broken_parquet_files(tmp_path):
    empty = tmp_path / "empty.parquet"
    columns = {name: [] for name in ("question_content", "code_pos", "code_neg")}
    features = datasets.Features({name: datasets.Value("string") for name in columns})
    datasets.Dataset.from_dict(columns, features).to_parquet(str(empty))
    assert read_pairs(empty) == []  # a curation run that found no pairs writes exactly this
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really parquet")
    with pytest.raises(CodescalerError, match=r"^cannot read parquet file .*broken\.parquet: "):
        read_pairs(broken)
