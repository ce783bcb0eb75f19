"""Which files of a workspace are worth reading: source in a supported language, not ignored, not huge.

Skipped: whatever `.gitignore` files (the root's and nested ones, with git's own matching rules through
`pathspec`) and the user's `context.exclude` globs name; folders that hold generated or vendored code
(`.git`, `node_modules`, virtual environments, `build`, `dist`, `target`, `vendor`, caches); files over
`max_file_bytes`; files whose first 8 KiB hold a NUL byte (binaries); symlinks that lead out of the
workspace. Nothing outside the workspace root is ever read.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from engine.syntax.languages import language_for_path

SKIP_DIRS = frozenset({
    ".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv", "env", ".tox", ".nox",
    ".mypy_cache", ".pytest_cache", ".ruff_cache", "build", "dist", "target", "vendor", "third_party",
    "site-packages", ".idea", ".vscode", ".next", "out", "coverage", ".gradle", "bazel-out",
})  # fmt: skip
MAX_FILE_BYTES = 512 * 1024
MAX_FILES = 20_000


@dataclass(frozen=True)
class FileRules:
    """What a workspace walk keeps: `exclude` globs (gitignore syntax, relative to the root), caps."""

    exclude: tuple[str, ...] = ()
    max_file_bytes: int = MAX_FILE_BYTES
    max_files: int = MAX_FILES
    _spec: pathspec.PathSpec = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_spec", pathspec.PathSpec.from_lines("gitwildmatch", self.exclude))

    def excluded(self, relative: str) -> bool:
        return self._spec.match_file(relative)


DEFAULT_RULES = FileRules()


def looks_binary(head: bytes) -> bool:
    return b"\x00" in head


def inside(root: Path, path: Path) -> bool:
    """Whether `path` (symlinks resolved) is within `root` (already resolved)."""
    try:
        path.resolve().relative_to(root)
    except (ValueError, OSError):
        return False
    return True


def _ignore_spec(folder: Path) -> pathspec.GitIgnoreSpec | None:
    try:
        lines = (folder / ".gitignore").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return pathspec.GitIgnoreSpec.from_lines(lines)


def source_files(root: Path, rules: FileRules = DEFAULT_RULES) -> Iterator[Path]:
    """The workspace's source files under `root` that the rules keep, at most `rules.max_files`."""
    root = root.resolve()
    count = 0
    stack: list[tuple[Path, list[tuple[Path, pathspec.GitIgnoreSpec]]]] = [(root, [])]
    while stack:
        folder, specs = stack.pop()
        own = _ignore_spec(folder)
        specs = [*specs, (folder, own)] if own is not None else specs
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError:
            continue
        for entry in entries:
            path = Path(entry.path)
            relative = path.relative_to(root).as_posix()
            is_dir = entry.is_dir()
            if is_dir and entry.name in SKIP_DIRS:
                continue
            probe = relative + "/" if is_dir else relative
            if rules.excluded(probe) or any(
                spec.match_file(path.relative_to(base).as_posix() + ("/" if is_dir else ""))
                for base, spec in specs
            ):
                continue
            if entry.is_symlink() and not inside(root, path):
                continue
            if is_dir:
                stack.append((path, specs))
                continue
            if language_for_path(entry.name) is None:
                continue
            try:
                if entry.stat().st_size > rules.max_file_bytes:
                    continue
            except OSError:
                continue
            yield path
            count += 1
            if count >= rules.max_files:
                return


def read_source(path: Path, rules: FileRules = DEFAULT_RULES) -> str | None:
    """The text of a source file, or None when it is too big, binary or unreadable."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if len(data) > rules.max_file_bytes or looks_binary(data[:8192]):
        return None
    return data.decode("utf-8", errors="replace")
