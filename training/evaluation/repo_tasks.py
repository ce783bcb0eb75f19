"""Cross-file completion tasks built at run time from installed pure-Python packages (`eval repo`).

For each package (its folder is the workspace), a task is a line of one file that uses a name the file
imports from another file of the same package and that is defined there (`from ._models import Request`
... `request = Request(method, url)`): the line is cut at that name, and the rest of the line is what
the completion must write. The masked line is removed from the document, so nothing of it leaks; the
rest of the package is the workspace the index reads. The standard library is refused (the bundled
policy was trained on it) and so are packages with compiled extensions (their Python files are not
the whole package). No third-party source is shipped: tasks are built from what is installed.
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


def _module_file(module: str, package: str, own: str, index: WorkspaceIndex) -> str | None:
    """The package file a `from MODULE import ...` of file `own` names, or None when it is elsewhere."""
    if module.startswith("."):
        level = len(module) - len(module.lstrip("."))
        base = Path(own).parent
        for _ in range(level - 1):
            base = base.parent
        parts = [p for p in module.lstrip(".").split(".") if p]
        target = base.joinpath(*parts) if parts else base
    elif module == package or module.startswith(package + "."):
        target = Path(*module.split(".")[1:]) if "." in module else Path()
    else:
        return None
    for candidate in (f"{target.as_posix()}.py", f"{target.as_posix()}/__init__.py"):
        candidate = candidate.removeprefix("./").lstrip("/")
        if index.outline_of(candidate) is not None:
            return candidate
    return None


def _cross_file_names(relative: str, package: str, index: WorkspaceIndex) -> dict[str, str]:
    """Names file `relative` imports from another package file that defines them: name -> that file."""
    own = index.outline_of(relative)
    names: dict[str, str] = {}
    for statement in own.imports if own is not None else []:
        match = re.match(r"from (\S+) import (.+)", statement)
        if match is None:
            continue
        source = _module_file(match.group(1), package, relative, index)
        if source is None or source == relative:
            continue
        for part in match.group(2).strip("() ").split(","):
            words = part.split()
            if not words or words[0] == "*":
                continue
            original, local = words[0], words[-1]
            if any(s.path == source for s in index.definitions(original)):
                names[local] = source if original == local else names.get(local, source)
    return {
        name: source
        for name, source in names.items()
        if any(s.path == source for s in index.definitions(name))
    }


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
        names = _cross_file_names(relative, package, index)
        if not names:
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
                source = names.get(match.group())
                if source is None or line[match.end() : match.end() + 1] not in ("(", "."):
                    continue
                if line[: match.start()].rstrip().endswith("."):  # `httpcore.URL(`: another module's name
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
                        RepoTask(task_id, package, root, relative, masked, cursor, target, symbol, source)
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
