"""Which files a workspace walk reads: source files only, .gitignore (nested too) and exclude globs
honoured, vendored and generated folders, binaries, big files and escaping symlinks skipped."""

from __future__ import annotations

from pathlib import Path

from engine.workspace.files import DEFAULT_RULES, FileRules, read_source, source_files
from tests.workspace.project import make_project


def relative(root: Path, rules: FileRules = DEFAULT_RULES) -> set[str]:
    return {path.relative_to(root.resolve()).as_posix() for path in source_files(root, rules)}


def test_only_source_that_is_not_ignored(tmp_path: Path):
    root = make_project(tmp_path)
    found = relative(root)
    assert {"pkg/config.py", "pkg/store.py", "pkg/main.py", "pkg/sub/public.py"} <= found
    for hidden in ("build/out.py", "pkg/schema.gen.py", "secret/keys.py", "node_modules/lib/index.js",
                   "pkg/sub/private.py", "README.md"):  # fmt: skip
        assert hidden not in found
    assert read_source(root / "pkg/blob.py") is None  # a NUL byte: binary


def test_exclude_globs_and_caps(tmp_path: Path):
    root = make_project(tmp_path)
    assert "pkg/store.py" not in relative(root, FileRules(exclude=("pkg/store.py",)))
    assert not any(p.startswith("pkg/sub/") for p in relative(root, FileRules(exclude=("pkg/sub/",))))
    (root / "pkg/huge.py").write_text("x = 1\n" * 20_000)
    assert "pkg/huge.py" not in relative(root, FileRules(max_file_bytes=50_000))
    assert len(relative(root, FileRules(max_files=2))) == 2


def test_symlinks_out_of_the_workspace_are_not_followed(tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "elsewhere.py").write_text("def outside_secret(): pass\n")
    root = make_project(tmp_path / "project")
    (root / "link").symlink_to(outside, target_is_directory=True)
    (root / "pkg/linked.py").symlink_to(outside / "elsewhere.py")
    found = relative(root)
    assert not any("elsewhere" in p or p.startswith("link/") for p in found)
