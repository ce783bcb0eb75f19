"""The dependency rule: lsp_server -> engine <- training, and engine imports neither."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imported_top_levels(package: str) -> set[str]:
    names = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
    return names


def test_engine_imports_neither_the_server_nor_training():
    assert not imported_top_levels("engine") & {"lsp_server", "training"}


def test_server_and_training_do_not_import_each_other():
    assert "training" not in imported_top_levels("lsp_server")
    assert "lsp_server" not in imported_top_levels("training")


HEAVY = {"torch", "transformers", "vllm", "trl"}


def test_heavy_libraries_load_only_inside_backends():
    """No module-level import of torch/transformers/vLLM/TRL: backends import them when they start."""
    offenders = []
    for path in (ROOT / "engine").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:  # module level only; imports inside functions are lazy
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module.split(".")[0]]
            if set(names) & HEAVY:
                offenders.append(str(path.relative_to(ROOT / "engine")))
    assert not offenders, offenders


def test_cli_help_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys; from engine.cli import main; main._register(); print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.stdout.strip() == "False", result.stderr


COMMAND_PACKAGES = ("engine.cli", "lsp_server.cli", "training.cli")


def test_no_library_module_imports_a_command_module():
    """Commands parse, call and print; what they share (defaults, option declarations aside) lives in the
    libraries, so no library module may reach into a command module for it. The shared option
    declarations (engine/cli/options.py) are for commands only."""
    offenders = []
    for package in ("engine", "lsp_server", "training"):
        for path in (ROOT / package).rglob("*.py"):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            if module.startswith(COMMAND_PACKAGES):
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module]
                offenders += [
                    f"{module} imports {name}" for name in names if name.startswith(COMMAND_PACKAGES)
                ]
    assert not offenders, offenders
