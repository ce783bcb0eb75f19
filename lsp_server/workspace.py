"""Repository context for one editor connection: the workspace roots, their indexes, and each request's
snippets.

The roots come from `initialize` (`workspaceFolders`, else `rootUri`) and
`workspace/didChangeWorkspaceFolders`. Indexes are shared by every connection of the process that has
the same root (`IndexRegistry`) and built in the background. Editors' texts keep them current: a
changed document is marked and re-outlined before the next request reads the index (one parse per
changed file, not one per keystroke); `workspace/didChangeWatchedFiles` re-reads files changed on disk.
Only files inside a root are indexed: a document elsewhere gets no context.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from pygls.uris import to_fs_path

from engine.protocol import ContextSnippet
from engine.settings import Settings
from engine.workspace.files import FileRules
from engine.workspace.index import WorkspaceIndex
from engine.workspace.retrieval import retrieve


class IndexRegistry:
    """One index per (root, rules) in a process."""

    def __init__(self) -> None:
        self._indexes: dict[tuple[Path, FileRules], WorkspaceIndex] = {}
        self._lock = threading.Lock()

    def index(self, root: Path, rules: FileRules) -> WorkspaceIndex:
        key = (root.resolve(), rules)
        with self._lock:
            if key not in self._indexes:
                self._indexes[key] = WorkspaceIndex(root, rules).start()
            return self._indexes[key]


class SessionWorkspace:
    def __init__(self, registry: IndexRegistry):
        self.registry = registry
        self.roots: list[Path] = []
        self.indexes: list[WorkspaceIndex] = []
        self._dirty: set[str] = set()  # URIs changed since their last outline
        self.last: dict[str, Any] = {}
        self.started = False  # indexing waits for `initialized`: the settings and roots are known then

    def set_roots(self, uris: list[str]) -> None:
        roots = [Path(path) for uri in uris if (path := to_fs_path(uri)) and Path(path).is_dir()]
        self.roots = list(dict.fromkeys(root.resolve() for root in roots))

    def start(self, settings: Settings) -> None:
        self.started = True
        self.configure(settings)

    def configure(self, settings: Settings) -> None:
        """Index the roots (in the background) with the settings' rules; none when context is off."""
        if not self.started:
            return
        context = settings.layers["context"]
        if not context["enabled"]:
            self.indexes = []
            return
        rules = FileRules(exclude=tuple(context["exclude"]))
        self.indexes = [self.registry.index(root, rules) for root in self.roots]

    def changed(self, uri: str) -> None:
        self._dirty.add(uri)

    def closed(self, uri: str) -> None:
        self._dirty.discard(uri)

    def on_disk(self, uri: str, deleted: bool) -> None:
        path = to_fs_path(uri)
        for index in self._owners(path):
            index.remove(path) if deleted else index.refresh(path)

    def _owners(self, path: str | None) -> list[WorkspaceIndex]:
        if not path:
            return []
        return [index for index in self.indexes if index.relative(path) is not None]

    def _flush(self, documents: Any) -> None:
        for uri in list(self._dirty):
            self._dirty.discard(uri)
            document = documents.get(uri)
            path = to_fs_path(uri)
            for index in self._owners(path) if document is not None else []:
                index.update(path, document.source)

    def snippets(
        self, uri: str, text: str, cursor: int, settings: Settings, documents: Any
    ) -> list[ContextSnippet]:
        """The repository context of a request at `cursor` in `text` (the document `uri`)."""
        started = time.perf_counter()
        self._flush(documents)
        path = to_fs_path(uri)
        owners = self._owners(path)
        if not owners:
            self.last = {"files": [], "symbols": [], "retrieval_ms": None}
            return []
        found = retrieve(owners[0], path, text, cursor, settings.layers["context"]["max_chars"])
        self.last = {
            "root": str(owners[0].root),
            "files": sorted({snippet.path for snippet in found.snippets}),
            "symbols": [snippet.symbol for snippet in found.snippets if snippet.symbol],
            "similar": sum(snippet.kind == "similar" for snippet in found.snippets),
            "dropped": found.dropped,
            "retrieval_ms": round((time.perf_counter() - started) * 1000, 3),
        }
        return found.snippets

    def stats(self) -> dict[str, Any]:
        return {
            "roots": [str(root) for root in self.roots],
            "indexes": [{"root": str(index.root), **vars(index.stats())} for index in self.indexes],
            "last": self.last,
        }
