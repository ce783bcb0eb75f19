"""Outlines from real tree-sitter grammars: definitions with signatures and docstrings, imports."""

from __future__ import annotations

import pytest

from engine.workspace.outline import outline
from tests.workspace.project import FILES


def test_python_definitions_signatures_docstrings_and_imports():
    found = outline("pkg/config.py", FILES["pkg/config.py"], "python")
    by_name = {s.name: s for s in found.symbols}
    assert set(by_name) == {"Config", "merge", "load_config"}
    assert by_name["load_config"].snippet == (
        'def load_config(path: str, *, strict: bool = False) -> Config:\n    """Read the TOML config at `path`."""'
    )
    line = next(
        i for i, text in enumerate(FILES["pkg/config.py"].split("\n")) if text.startswith("def load_config")
    )
    assert by_name["load_config"].line == line and by_name["load_config"].kind == "function"
    config = by_name["Config"].snippet
    assert config.startswith("class Config:") and 'def merge(self, other: "Config") -> "Config":' in config
    assert by_name["merge"].container == "Config" and by_name["merge"].kind == "method"
    assert found.imports == ["from dataclasses import dataclass"]
    main = outline("pkg/main.py", FILES["pkg/main.py"], "python")
    assert main.imported_names == ["load_config", "Store"]


@pytest.mark.parametrize(
    ("language", "path", "text", "names", "imported"),
    [
        ("javascript", "a.js", 'import { foo } from "./foo";\nexport function add(a, b) { return a + b; }\n'
         "class K { method(x) { return x; } }\n", {"add", "K", "method"}, ["foo"]),
        ("typescript", "a.ts", "import { Bar } from './bar';\ninterface Shape { area(): number }\n"
         "export function area(s: Shape): number { return s.area(); }\n", {"Shape", "area"}, ["Bar"]),
        ("go", "a.go", 'package main\nimport "fmt"\n// Sum adds.\nfunc Sum(a int, b int) int { return a + b }\n'
         "type P struct { X int }\nfunc (p P) Get() int { return p.X }\n", {"Sum", "P", "Get"}, ["fmt"]),
        ("rust", "a.rs", "use std::fmt;\npub struct P { x: i32 }\nimpl P { pub fn get(&self) -> i32 { self.x } }\n"
         "fn helper(a: i32) -> i32 { a }\n", {"P", "get", "helper"}, ["fmt"]),
        ("java", "A.java", "import java.util.List;\nclass A {\n  A(int x) {}\n  int size(List<String> xs) { return 0; }\n}\n",
         {"A", "size"}, ["List"]),
        ("cpp", "a.cpp", '#include "b.h"\nint add(int a, int b) { return a + b; }\nclass K { };\n', {"add", "K"}, []),
        ("javascript", "b.js", 'import Def, { one as uno, two } from "./m";\nimport * as ns from "x";\nfunction f() {}\n',
         {"f"}, ["Def", "one", "uno", "two", "ns"]),
    ],
)  # fmt: skip
def test_other_languages(language, path, text, names, imported):
    found = outline(path, text, language)
    assert names <= {s.name for s in found.symbols}
    assert found.imported_names == imported
    add = next((s for s in found.symbols if s.name in ("add", "Sum")), None)
    if add is not None:
        assert "(" in add.snippet and "return" not in add.snippet  # the signature, not the body


def test_a_class_lists_each_method_on_one_line_once():
    text = '''class Client:
    """Talks to the server."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 5.0,
    ) -> None:
        """Open nothing yet."""

    @property
    def timeout(self) -> float:
        return self._timeout

    @timeout.setter
    def timeout(self, value: float) -> None:
        self._timeout = value

    def send(self, request: "Request") -> "Response":  # type: ignore[override]
        """Send `request`, follow redirects,
        and return the final response."""
'''
    client = next(s for s in outline("client.py", text, "python").symbols if s.name == "Client")
    assert client.snippet == (
        'class Client:\n    """Talks to the server."""\n'
        "    def __init__(self, base_url: str, *, timeout: float = 5.0) -> None:\n"
        "    def timeout(self) -> float:\n"
        '    def send(self, request: "Request") -> "Response":'
    )  # one line per method, the getter for a property, no method docstrings, no trailing comment
