"""The benchmark copies that ship in the package: intact, loadable, and found from an installed wheel."""

import ast
import gzip
import hashlib
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from training.data.benchmarks import BENCHMARK_DATA, MBPPPLUS_PATH, load_mbppplus
from training.evaluation import infilling

ROOT = Path(__file__).resolve().parents[2]
TABLE_ROW = re.compile(r"^\| `([^`]+)`.*\| ([\d,]+) \| `([0-9a-f]{64})` \|$")


def documented() -> dict[str, tuple[int, str]]:
    """file -> (rows, sha256) from the README beside the data."""
    rows = {}
    for line in (BENCHMARK_DATA / "README.md").read_text().splitlines():
        if match := TABLE_ROW.match(line):
            rows[match[1]] = (int(match[2].replace(",", "")), match[3])
    return rows


def test_every_file_matches_its_documented_sha256_and_row_count():
    table = documented()
    assert set(table) == {path.name for path in BENCHMARK_DATA.glob("*.gz")}
    for name, (rows, digest) in table.items():
        data = (BENCHMARK_DATA / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest, name
        text = gzip.decompress(data).decode("utf-8")
        if name.endswith(".jsonl.gz"):
            assert sum(1 for line in text.splitlines() if line.strip()) == rows, name
        else:
            assert len(json.loads(text)) == rows, name


def test_mbppplus_and_every_infilling_set_load_from_the_package():
    assert len(load_mbppplus("", None)) == 399
    assert MBPPPLUS_PATH.parent == BENCHMARK_DATA
    sizes = {name: len(infilling.load_tasks(infilling.bundled_path(name))) for name in infilling.SETS}
    assert sizes == {"single": 1033, "multi": 5815, "random-span": 1640, "random-span-light": 164}


def test_no_product_module_reads_the_development_machines_shared_folder():
    offenders = []
    for package in ("engine", "lsp_server", "training"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and (node.value == "shared" or "../shared" in node.value)
                ):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, offenders


@pytest.mark.slow
def test_an_installed_wheel_finds_its_benchmark_data(tmp_path):
    """Built and unpacked away from the clone: the loaders find the copies inside the package."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path / "wheel")], check=True, timeout=600)  # fmt: skip
    (wheel,) = (tmp_path / "wheel").glob("codescaler-*.whl")
    zipfile.ZipFile(wheel).extractall(tmp_path / "site")
    code = ("from training.data.benchmarks import load_mbppplus; from training.evaluation import infilling; "
            "import training; print(training.__file__); print(len(load_mbppplus('', None)), "
            "len(infilling.load_tasks(infilling.bundled_path('multi'))))")  # fmt: skip
    result = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(tmp_path / 'site')!r}); {code}"],
                            capture_output=True, text=True, cwd=tmp_path, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    where, counts = result.stdout.splitlines()
    assert where.startswith(str(tmp_path / "site")) and counts == "399 5815"
