"""A workspace's outlines, built in the background and kept current, with bounded memory.

The index holds, per file, only its outline (definitions' snippets, imports), never its text; the text
of open and recently edited files is kept separately (at most `RECENT_FILES`), for similar-code
retrieval. Building reads at most `FileRules.max_files` files of at most `max_file_bytes` each, in a
daemon thread; queries before it finishes use what is there. Edits re-outline one file (milliseconds).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from engine.syntax.languages import language_for_path
from engine.workspace.files import DEFAULT_RULES, FileRules, inside, read_source, source_files
from engine.workspace.outline import IDENTIFIER, Outline, Symbol, outline

RECENT_FILES = 20
WINDOW_LINES = 12
WINDOW_STRIDE = 6


@dataclass(frozen=True)
class Windows:
    """A file cut into overlapping windows of lines, with an inverted index of their identifiers (term ->
    [(window, count)]), built once per edit so a query touches only the windows that share its terms."""

    path: str
    starts: list[int]
    bodies: list[str]
    lengths: list[int]
    postings: dict[str, list[tuple[int, int]]]

    @classmethod
    def of(cls, path: str, text: str) -> Windows:
        lines = text.split("\n")
        starts = list(range(0, max(1, len(lines) - WINDOW_LINES + WINDOW_STRIDE), WINDOW_STRIDE))
        bodies = ["\n".join(lines[start : start + WINDOW_LINES]) for start in starts]
        lengths, postings = [], {}
        for number, body in enumerate(bodies):
            counts: dict[str, int] = {}
            for term in IDENTIFIER.findall(body):
                counts[term] = counts.get(term, 0) + 1
            lengths.append(sum(counts.values()))
            for term, count in counts.items():
                postings.setdefault(term, []).append((number, count))
        return cls(path, starts, bodies, lengths, postings)


@dataclass(frozen=True)
class IndexStats:
    files: int
    symbols: int
    ready: bool
    build_s: float | None


class WorkspaceIndex:
    """The outlines of the source files under `root` (paths are kept relative to it, POSIX style)."""

    def __init__(self, root: Path, rules: FileRules = DEFAULT_RULES):
        self.root = root.resolve()
        self.rules = rules
        self._outlines: dict[str, Outline] = {}
        self._by_name: dict[str, list[Symbol]] = {}
        self._recent: OrderedDict[str, Windows] = OrderedDict()  # open / edited files' windows, for BM25
        self._lock = threading.Lock()
        self.ready = threading.Event()
        self.build_s: float | None = None
        self._thread: threading.Thread | None = None

    # building ---------------------------------------------------------------------------------------

    def start(self) -> WorkspaceIndex:
        """Build in a daemon thread; returns at once."""
        if self._thread is None:
            self._thread = threading.Thread(target=self.build, name="codescaler-index", daemon=True)
            self._thread.start()
        return self

    def build(self) -> None:
        started = time.perf_counter()
        for path in source_files(self.root, self.rules):
            relative = path.relative_to(self.root).as_posix()
            with self._lock:
                if relative in self._outlines:  # an editor's newer text got here first
                    continue
            text = read_source(path, self.rules)
            if text is not None:
                self._put(relative, text)
        self.build_s = time.perf_counter() - started
        self.ready.set()

    def relative(self, path: str | Path) -> str | None:
        """`path` relative to the root, or None when it is outside (never indexed, never read)."""
        candidate = Path(path)
        if not candidate.is_absolute():
            candidate = self.root / candidate
        if not inside(self.root, candidate):
            return None
        relative = candidate.resolve().relative_to(self.root).as_posix()
        return None if self.rules.excluded(relative) else relative

    def _put(self, relative: str, text: str) -> None:
        language = language_for_path(relative)
        if language is None:
            return
        fresh = outline(relative, text, language)
        with self._lock:
            self._drop(relative)
            self._outlines[relative] = fresh
            for symbol in fresh.symbols:
                self._by_name.setdefault(symbol.name, []).append(symbol)

    def _drop(self, relative: str) -> None:
        old = self._outlines.pop(relative, None)
        if old is None:
            return
        for symbol in old.symbols:
            named = self._by_name.get(symbol.name, [])
            named[:] = [s for s in named if s.path != relative]
            if not named:
                self._by_name.pop(symbol.name, None)

    # keeping it current -------------------------------------------------------------------------------

    def update(self, path: str | Path, text: str, *, recent: bool = True) -> bool:
        """An editor's text of `path` (open, changed, saved); False when the file is not the index's."""
        relative = self.relative(path)
        if relative is None or language_for_path(relative) is None or len(text) > self.rules.max_file_bytes:
            return False
        self._put(relative, text)
        if recent:
            windows = Windows.of(relative, text)
            with self._lock:
                self._recent[relative] = windows
                self._recent.move_to_end(relative)
                while len(self._recent) > RECENT_FILES:
                    self._recent.popitem(last=False)
        return True

    def refresh(self, path: str | Path) -> None:
        """A file changed on disk (`workspace/didChangeWatchedFiles`): read it again, or forget it."""
        relative = self.relative(path)
        if relative is None:
            return
        absolute = self.root / relative
        text = read_source(absolute, self.rules) if absolute.is_file() else None
        if text is None:
            self.remove(path)
        else:
            self._put(relative, text)

    def remove(self, path: str | Path) -> None:
        relative = self.relative(path)
        if relative is None:
            return
        with self._lock:
            self._drop(relative)
            self._recent.pop(relative, None)

    # reading ------------------------------------------------------------------------------------------

    def definitions(self, name: str) -> list[Symbol]:
        with self._lock:
            return list(self._by_name.get(name, ()))

    def outline_of(self, relative: str) -> Outline | None:
        with self._lock:
            return self._outlines.get(relative)

    def recent_windows(self) -> list[Windows]:
        """The windows of the open and recently edited files, most recent first."""
        with self._lock:
            return list(reversed(self._recent.values()))

    def paths(self) -> list[str]:
        with self._lock:
            return list(self._outlines)

    def stats(self) -> IndexStats:
        with self._lock:
            symbols = sum(len(o.symbols) for o in self._outlines.values())
            return IndexStats(len(self._outlines), symbols, self.ready.is_set(), self.build_s)
