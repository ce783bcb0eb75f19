"""The workspace index: built in the background, kept current by edits, on-disk changes and deletes,
holding nothing from outside its root."""

from __future__ import annotations

from pathlib import Path

from engine.workspace.index import RECENT_FILES, WorkspaceIndex
from tests.workspace.project import make_project


def built(root: Path) -> WorkspaceIndex:
    index = WorkspaceIndex(root).start()
    assert index.ready.wait(30)
    return index


def test_build_then_follow_edits(tmp_path: Path):
    root = make_project(tmp_path)
    index = built(root)
    assert [s.path for s in index.definitions("load_config")] == [
        "pkg/config.py"
    ]  # and 4 more files, not the binary
    assert index.definitions("leaked_helper") == [] and index.definitions("built") == []
    stats = index.stats()
    assert stats.ready and stats.files == 5 and stats.symbols >= 6 and stats.build_s is not None

    # an editor's unsaved text counts: a new definition appears, a removed one goes
    assert index.update(root / "pkg/config.py", "def load_settings(path): ...\n")
    assert (
        index.definitions("load_config") == []
        and index.definitions("load_settings")[0].path == "pkg/config.py"
    )
    # a file written outside the editor, then deleted
    (root / "pkg/extra.py").write_text("def extra_helper(a, b): ...\n")
    index.refresh(root / "pkg/extra.py")
    assert index.definitions("extra_helper")[0].path == "pkg/extra.py"
    (root / "pkg/extra.py").unlink()
    index.refresh(root / "pkg/extra.py")
    assert index.definitions("extra_helper") == []


def test_nothing_outside_the_root(tmp_path: Path):
    root = make_project(tmp_path / "project")
    index = built(root)
    outside = tmp_path / "other.py"
    outside.write_text("def outside_function(): ...\n")
    assert index.relative(outside) is None and index.relative("../other.py") is None
    assert not index.update(outside, outside.read_text())
    assert not index.update(root / "README.md", "# not code")
    assert index.definitions("outside_function") == []


def test_recent_texts_are_bounded(tmp_path: Path):
    index = built(make_project(tmp_path))
    for number in range(RECENT_FILES + 5):
        index.update(tmp_path / f"pkg/file{number}.py", f"def f{number}(): ...\n")
    recent = index.recent_windows()
    assert len(recent) == RECENT_FILES and recent[0].path == f"pkg/file{RECENT_FILES + 4}.py"
