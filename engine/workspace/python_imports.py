"""Which workspace file a Python import names, so that a name can be looked up where it really comes from.

A module name is resolved the way Python would find it in a project checked out at the workspace root:
a relative import (`from .models import Request`, `from . import utils`) from the importing file's
package; an absolute one (`from pkg.models import Request`) from the root, from any folder above the
importing file (a `src/` layout), or, when the workspace is the package folder itself, without the
package's own name. Only indexed files are answers: nothing outside the workspace is looked at.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from engine.workspace.index import WorkspaceIndex
from engine.workspace.outline import Outline

FROM_IMPORT = re.compile(r"from\s+(\S+)\s+import\s+(.+)")


def module_file(module: str, own_path: str | None, index: WorkspaceIndex) -> str | None:
    """The indexed file (relative to the root) that `module` names when imported from `own_path`."""
    own_folder = PurePosixPath(own_path or "").parent
    if module.startswith("."):
        level = len(module) - len(module.lstrip("."))
        base = own_folder
        for _ in range(level - 1):
            base = base.parent
        parts = [part for part in module.lstrip(".").split(".") if part]
        bases = [base.joinpath(*parts)]
    else:
        parts = module.split(".")
        bases = [folder.joinpath(*parts) for folder in (own_folder, *own_folder.parents)]
        if parts[0] == index.root.name:
            bases.append(PurePosixPath(*parts[1:]) if len(parts) > 1 else PurePosixPath())
    for base in bases:
        for candidate in (f"{base}.py", f"{base}/__init__.py"):
            candidate = candidate.removeprefix("./")
            if index.outline_of(candidate) is not None:
                return candidate
    return None


def imported_from(statement: str) -> tuple[str, list[tuple[str, str]]] | None:
    """A `from MODULE import a, b as c` statement's module and its (name, local name) pairs."""
    match = FROM_IMPORT.match(statement)
    if match is None:
        return None
    pairs = []
    for part in match.group(2).strip("() ").split(","):
        words = part.split()
        if words and words[0] != "*":
            pairs.append((words[0], words[-1]))
    return match.group(1), pairs


def from_imports(own: Outline, own_path: str | None, index: WorkspaceIndex) -> dict[str, tuple[str, str]]:
    """The names the file imports from workspace modules (`from .models import Request as R`): local
    name -> (its name in the module, the module's file)."""
    names: dict[str, tuple[str, str]] = {}
    for statement in own.imports:
        found = imported_from(statement)
        path = module_file(found[0], own_path, index) if found is not None else None
        if found is not None and path is not None:
            names.update({local: (name, path) for name, local in found[1]})
    return names


def module_aliases(own: Outline, own_path: str | None, index: WorkspaceIndex) -> dict[str, str]:
    """Local names that stand for a whole workspace module in the file (`from . import utils`,
    `import pkg.utils as u`, `import helpers`): local name -> the module's file."""
    aliases: dict[str, str] = {}
    for statement in own.imports:
        found = imported_from(statement)
        if found is not None:
            module, pairs = found
            for name, local in pairs:
                submodule = f"{module}{name}" if module.strip(".") == "" else f"{module}.{name}"
                path = module_file(submodule, own_path, index)
                if path is not None:
                    aliases[local] = path
            continue
        for part in statement.removeprefix("import ").split(","):
            words = part.split()
            if not words or ("." in words[0] and len(words) < 3):  # `import a.b` binds `a`, a package
                continue
            path = module_file(words[0], own_path, index)
            if path is not None:
                aliases[words[-1]] = path
    return aliases
