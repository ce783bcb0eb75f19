"""Python imports resolved to the workspace files they name: relative, absolute, `src/` layouts, and a
workspace that is the package folder itself."""

from __future__ import annotations

from pathlib import Path

from engine.workspace.index import WorkspaceIndex
from engine.workspace.outline import outline
from engine.workspace.python_imports import from_imports, imported_from, module_aliases, module_file


def indexed(root: Path, files: dict[str, str]) -> WorkspaceIndex:
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    index = WorkspaceIndex(root)
    index.build()
    return index


def test_module_names_resolve_to_the_files_python_would_load(tmp_path: Path):
    index = indexed(
        tmp_path,
        {"src/app/__init__.py": "", "src/app/models.py": "class User: ...\n", "src/app/sub/__init__.py": "",
         "src/app/sub/views.py": "def show(): ...\n", "src/app/sub/helpers/__init__.py": "def h(): ...\n"},
    )  # fmt: skip
    own = "src/app/sub/views.py"
    assert module_file(".helpers", own, index) == "src/app/sub/helpers/__init__.py"
    assert module_file("..models", own, index) == "src/app/models.py"
    assert module_file(".", own, index) == "src/app/sub/__init__.py"
    assert module_file("app.models", own, index) == "src/app/models.py"  # found from a folder above
    assert module_file("app.missing", own, index) is None
    assert module_file("json", own, index) is None  # not in the workspace: not looked for
    package = indexed(tmp_path / "pkgroot" / "app", {"models.py": "class User: ...\n", "views.py": ""})
    assert module_file("app.models", "views.py", package) == "models.py"  # the workspace is the package


def test_local_names_of_whole_modules(tmp_path: Path):
    index = indexed(
        tmp_path,
        {"pkg/__init__.py": "", "pkg/utils.py": "def helper(): ...\n", "pkg/nodes.py": "class Const: ...\n",
         "helpers.py": "def top(): ...\n"},
    )  # fmt: skip
    text = (
        "from . import utils\nfrom pkg import nodes as n\nfrom pkg.utils import helper\n"
        "import helpers\nimport pkg.utils as u\nimport pkg.nodes\nimport json\n"
    )
    own = outline("pkg/main.py", text, "python")
    assert module_aliases(own, "pkg/main.py", index) == {
        "utils": "pkg/utils.py",
        "n": "pkg/nodes.py",
        "helpers": "helpers.py",
        "u": "pkg/utils.py",
    }  # `helper` is a function, `import pkg.nodes` binds `pkg`, json is not in the workspace
    assert from_imports(own, "pkg/main.py", index) == {
        "utils": ("utils", "pkg/__init__.py"),
        "n": ("nodes", "pkg/__init__.py"),
        "helper": ("helper", "pkg/utils.py"),
    }  # what each name is in the file its import resolves to
    assert imported_from("from .a import (b, c as d, *)") == (".a", [("b", "b"), ("c", "d")])
    assert imported_from("import a") is None
