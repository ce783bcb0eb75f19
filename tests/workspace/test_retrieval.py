"""Retrieval for one request: the definitions the cursor needs first, then similar code, within budget."""

from __future__ import annotations

from pathlib import Path

from engine.workspace.index import Windows, WorkspaceIndex
from engine.workspace.retrieval import compact, retrieve, similar_windows
from tests.workspace.project import FILES, make_project


def index_of(root: Path) -> WorkspaceIndex:
    index = WorkspaceIndex(root)
    index.build()
    return index


def test_the_definitions_the_cursor_needs_come_first(tmp_path: Path):
    root = make_project(tmp_path)
    index = index_of(root)
    text = FILES["pkg/main.py"]
    found = retrieve(index, str(root / "pkg/main.py"), text, len(text), 4000)
    symbols = [s.symbol for s in found.snippets]
    assert symbols[:2] == ["Store", "load_config"]  # both imported; Store is nearer the cursor
    store = found.snippets[0]
    assert (
        store.path == "pkg/store.py"
        and "def __init__(self, config: Config, capacity: int = 10):" in store.text
    )
    assert all(s.path != "pkg/main.py" for s in found.snippets)  # never the file itself
    assert found.dropped == 0


def test_the_budget_holds(tmp_path: Path):
    root = make_project(tmp_path)
    index = index_of(root)
    text = FILES["pkg/main.py"]
    found = retrieve(index, str(root / "pkg/main.py"), text, len(text), 120)
    assert sum(len(s.text) + len(s.path) + 1 for s in found.snippets) <= 120
    assert found.dropped >= 1


def test_similar_code_from_recently_edited_files(tmp_path: Path):
    root = make_project(tmp_path)
    index = index_of(root)
    index.update(
        root / "pkg/report.py",
        "def report(rows):\n    total = sum(row.amount for row in rows)\n    return total\n",
    )
    text = "def summary(rows):\n    total = sum(row.amount for row in "
    found = retrieve(index, str(root / "pkg/new.py"), text, len(text), 4000)
    similar = [s for s in found.snippets if s.kind == "similar"]
    assert similar and similar[0].path == "pkg/report.py" and "row.amount" in similar[0].text


def test_bm25_ranks_shared_rare_identifiers_first():
    texts = [
        ("a.py", "alpha = beta\n" * 3),
        ("b.py", "frobnicate(widget)\nwidget.spin()\n"),
        ("c.py", "x = 1\n"),
    ]
    texts = [Windows.of(path, text) for path, text in texts]
    ranked = similar_windows("widget.frobnicate(", texts, limit=3)
    assert ranked[0][0] == "b.py" and all(score > 0 for *_, score in ranked)
    assert similar_windows("nothing_shared_here", texts, limit=3) == []


def test_one_big_class_cannot_push_out_the_signature_of_a_name_the_file_imports(tmp_path: Path):
    methods = "".join(
        f'    def method_{i}(self, value: int) -> int:\n        """Step {i}."""\n' for i in range(8)
    )
    (tmp_path / "big.py").write_text(f'class Big:\n    """A class with many methods."""\n\n{methods}')
    (tmp_path / "helpers.py").write_text(
        'def make_token(\n    user: str,\n    ttl: int = 60,\n) -> str:\n    """A signed token."""\n'
    )
    text = "from big import Big\nfrom helpers import make_token\n\nthing = Big()\nthing.method_1(3)\ntoken = "
    index = index_of(tmp_path)
    big_full, token_full = index.definitions("Big")[0].snippet, index.definitions("make_token")[0].snippet
    assert compact(token_full) == "def make_token(user: str, ttl: int = 60) -> str:"  # how to call it
    assert compact(big_full) == "class Big:"
    roomy = retrieve(index, str(tmp_path / "main.py"), text, len(text), 4000)
    assert [(s.symbol, s.text) for s in roomy.snippets] == [("Big", big_full), ("make_token", token_full)]
    budget = len(big_full) + len("big.py") + 1  # Big's whole snippet, alone
    tight = retrieve(index, str(tmp_path / "main.py"), text, len(text), budget)
    assert [s.symbol for s in tight.snippets] == ["Big", "make_token"] and tight.dropped == 0
    assert tight.snippets[0].text == "class Big:"  # the signatures first; then what is left buys detail
    assert sum(len(s.text) + len(s.path) + 1 for s in tight.snippets) <= budget


def test_after_a_module_name_what_that_module_offers_comes_first(tmp_path: Path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg/__init__.py").write_text("")
    (tmp_path / "pkg/nodes.py").write_text(
        "class Name:\n    def __init__(self, name: str) -> None: ...\n\n"
        "class Const:\n    def __init__(self, value: object) -> None: ...\n\n"
        "def _private() -> None: ...\n\ndef make_const(value: int) -> Const: ...\n"
    )
    prefix = "from . import nodes\n\n\ndef build(value):\n    first = nodes.Const(value)\n    return nodes."
    index = index_of(tmp_path)

    def at(text: str) -> list[tuple[str | None, str]]:
        found = retrieve(index, str(tmp_path / "pkg/main.py"), text, len(text), 4000)
        return [(s.symbol, s.text) for s in found.snippets]

    assert [symbol for symbol, _ in at(prefix)][:3] == [
        "Const",
        "Name",
        "make_const",
    ]  # used most, then order
    typed = at(prefix + "ma")
    assert typed[0] == ("make_const", index.definitions("make_const")[0].snippet)  # what is typed, whole
    assert "_private" not in {symbol for symbol, _ in at(prefix)} and at(prefix + "_")[0][0] == "_private"
    assert at("import os\nvalue = os.") == []  # not a workspace module
