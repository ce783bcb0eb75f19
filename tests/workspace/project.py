"""A small multi-file Python project on disk, for the workspace tests."""

from __future__ import annotations

from pathlib import Path

FILES = {
    "pkg/__init__.py": "",
    "pkg/config.py": '''"""Configuration."""
from dataclasses import dataclass


@dataclass
class Config:
    """Settings of the app."""

    name: str

    def merge(self, other: "Config") -> "Config":
        """The other one wins."""
        return other


def load_config(path: str, *, strict: bool = False) -> Config:
    """Read the TOML config at `path`."""
    return Config(path)
''',
    "pkg/store.py": '''from pkg.config import Config


class Store:
    def __init__(self, config: Config, capacity: int = 10):
        self.config = config

    def put(self, key: str, value: bytes) -> None:
        """Keep `value` under `key`."""
''',
    "pkg/main.py": """from pkg.config import load_config
from pkg.store import Store


def run(path):
    config = load_config(path, strict=True)
    store = Store(
""",
    ".gitignore": "build/\n*.gen.py\nsecret/\n",
    "build/out.py": "def built(): pass\n",
    "pkg/schema.gen.py": "def generated(): pass\n",
    "secret/keys.py": "def leaked_helper(): pass\n",
    "node_modules/lib/index.js": "function vendored() {}\n",
    "pkg/sub/.gitignore": "private.py\n",
    "pkg/sub/private.py": "def hidden_by_nested_ignore(): pass\n",
    "pkg/sub/public.py": "def visible_helper(x: int) -> int:\n    return x\n",
    "pkg/blob.py": "x = 1\x00\x01\n",
    "README.md": "# not code\n",
}


def make_project(root: Path) -> Path:
    for relative, text in FILES.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root
