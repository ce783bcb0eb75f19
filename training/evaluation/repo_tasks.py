"""Cross-file completion tasks built at run time from installed pure-Python packages (`eval repo`).

For each package (its folder is the workspace), a task is a line of one file that uses a name defined
in another file of the same package, cut at that name; the rest of the line is what the completion must
write. Two kinds:

* **imported name** — a name the file imports from the file that defines it (`from ._models import
  Request` ... `request = Request(method, url)`);
* **module attribute** — a top-level name of a package module the file imports whole (`from . import
  nodes` ... `return nodes.Const(value)`, cut after `nodes.`); another package's attribute
  (`httpcore.URL(`) makes no task.

The masked line is removed from the document, so nothing of it leaks; the rest of the package is the
workspace the index reads. The standard library is refused (the bundled policy was trained on it) and
so are packages with compiled extensions (their Python files are not the whole package). No third-party
source is shipped: tasks are built from what is installed.
"""

from __future__ import annotations

import importlib.util
import random
import re
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import CodescalerError
from engine.syntax.validity import parser
from engine.workspace.files import source_files
from engine.workspace.index import WorkspaceIndex
from engine.workspace.outline import IDENTIFIER
from engine.workspace.python_imports import from_imports, module_aliases

if TYPE_CHECKING:
    from tree_sitter import Tree

MIN_TARGET_CHARS = 4
MAX_TARGET_CHARS = 120
COMPILED = (".so", ".pyd", ".dylib")


@dataclass(frozen=True)
class RepoTask:
    """A cursor in `path` (relative to the package folder `root`) before the name `symbol`, which is
    defined in `defined_in`; `target` is the rest of the masked line."""

    task_id: str
    package: str
    root: Path
    path: str
    text: str  # the file without the masked line's rest
    cursor: int
    target: str
    symbol: str
    defined_in: str
    kind: str = "imported name"  # or "module attribute": `utils.|helper(...)` after `from . import utils`


def package_root(name: str) -> Path:
    """The folder of installed package `name`; a one-line error when it is missing, a single module,
    part of the standard library, or compiled."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError) as exc:
        raise CodescalerError(f"--packages: cannot look up {name!r}: {exc}") from exc
    if spec is None:
        raise CodescalerError(f"--packages: {name!r} is not installed here (pip install it, or pick another)")
    locations = list(spec.submodule_search_locations or [])
    if not locations:
        raise CodescalerError(f"--packages: {name!r} is a single module, not a package with several files")
    root = Path(locations[0]).resolve()
    stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()
    if root.is_relative_to(stdlib) and "site-packages" not in root.parts:
        raise CodescalerError(
            f"--packages: {name!r} is in the standard library, which the bundled policy was trained on"
        )
    if any(path.suffix in COMPILED for path in root.rglob("*") if path.is_file()):
        raise CodescalerError(f"--packages: {name!r} has compiled extensions; pick a pure-Python package")
    return root


def _cross_file_names(relative: str, index: WorkspaceIndex) -> dict[str, str]:
    """Names file `relative` imports, unrenamed, from another package file that defines them: name ->
    that file."""
    own = index.outline_of(relative)
    imports = from_imports(own, relative, index) if own is not None else {}
    return {
        local: path
        for local, (name, path) in imports.items()
        if name == local and path != relative and any(s.path == path for s in index.definitions(name))
    }


def _module_attributes(relative: str, index: WorkspaceIndex) -> dict[str, str]:
    """Modules of the package that file `relative` imports whole (`from . import utils`): name -> file."""
    own = index.outline_of(relative)
    aliases = module_aliases(own, relative, index) if own is not None else {}
    return {name: path for name, path in aliases.items() if path != relative}


def _source(
    line: str, match: re.Match[str], names: dict[str, str], modules: dict[str, str], index: WorkspaceIndex
) -> tuple[str | None, str]:
    """The package file that defines the name `match` found in `line`, and the kind of task it makes: a
    name the file imports, or a top-level name of a module the file imports whole (`utils.helper`);
    None for any other attribute (`httpcore.URL` is another package's)."""
    attribute = re.search(r"\b([A-Za-z_]\w*)\.$", line[: match.start()])
    if attribute is None:
        return names.get(match.group()), "imported name"
    path = modules.get(attribute.group(1))
    defined = path is not None and any(
        s.path == path and s.container is None for s in index.definitions(match.group())
    )
    return (path if defined else None), "module attribute"


def _is_code(tree: Tree, text: str, offset: int) -> bool:
    """Whether the character at `offset` is a name in code (not inside a string or a comment)."""
    start = len(text[:offset].encode("utf-8"))
    node = tree.root_node.descendant_for_byte_range(start, start + 1)
    if node is None or node.type != "identifier":
        return False
    while node is not None:
        if node.type in ("string", "comment"):
            return False
        node = node.parent
    return True


def package_tasks(package: str, root: Path, index: WorkspaceIndex) -> list[RepoTask]:
    """Every task of one indexed package, in file and line order."""
    tasks = []
    for path in source_files(root):
        relative = path.relative_to(root).as_posix()
        names, modules = _cross_file_names(relative, index), _module_attributes(relative, index)
        if not names and not modules:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        tree = parser("python").parse(text.encode("utf-8"))
        offset = 0
        for number, line in enumerate(text.split("\n")):
            stripped = line.strip()
            if stripped.startswith(("#", "from ", "import ", "def ", "class ", "@", '"', "'")):
                offset += len(line) + 1
                continue
            for match in IDENTIFIER.finditer(line):
                source, kind = _source(line, match, names, modules, index)
                if source is None or line[match.end() : match.end() + 1] not in ("(", "."):
                    continue
                if not _is_code(tree, text, offset + match.start()):  # in a docstring or a comment
                    break
                target = line[match.start() :].rstrip()
                if MIN_TARGET_CHARS <= len(target) <= MAX_TARGET_CHARS:
                    cursor = offset + match.start()
                    masked = text[:cursor] + text[offset + len(line) :]
                    task_id = f"{package}/{relative}:{number + 1}"
                    symbol = match.group()
                    tasks.append(
                        RepoTask(
                            task_id, package, root, relative, masked, cursor, target, symbol, source, kind
                        )
                    )
                break
            offset += len(line) + 1
    return tasks


def build_tasks(packages: list[str]) -> tuple[list[RepoTask], dict[str, WorkspaceIndex]]:
    """Every task of `packages`, and their indexes (one per package folder)."""
    tasks: list[RepoTask] = []
    indexes: dict[str, WorkspaceIndex] = {}
    for package in packages:
        root = package_root(package)
        index = WorkspaceIndex(root)
        index.build()
        indexes[package] = index
        found = package_tasks(package, root, index)
        if not found:
            raise CodescalerError(
                f"--packages: {package!r} has no line that uses a name from another of its files"
            )
        tasks += found
    return tasks, indexes


def sample_tasks(tasks: list[RepoTask], limit: int | None, seed: int) -> list[RepoTask]:
    """At most `limit` of `tasks`, drawn with `seed` (the same draw on every run), in task order."""
    if limit is None or limit >= len(tasks):
        return tasks
    return sorted(random.Random(seed).sample(tasks, limit), key=lambda task: task.task_id)
