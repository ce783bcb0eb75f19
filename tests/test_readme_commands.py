"""The README, followed literally by a newcomer: a copy of the clone in a temporary folder with no
`../shared` beside it, the README's first block, then every command its `bash` blocks show, in order,
as written.

Two things differ from a newcomer's machine, both so that the test needs neither the model hub nor a
3 GB download: the new `.venv` sees this test run's installed packages through one `.pth` line (so
`pip install torch==2.13.0 -e .` finds its requirements already there and installs only codescaler,
from the copy), and `HF_ENDPOINT` points at a closed local port, so every command that names a hub
model meets an unreachable hub, as on an offline machine. Such commands must fail fast in one line that
names the model. Every README command is in `EXPECTED`: a command added to the README without a line
here fails the test, so the README cannot grow an untested command.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# What each README command (found by a piece of its text) must do:
#   "ok"        exit 0
#   "hub"       exit non-zero with one line on stderr that names the hub model
#   "one line"  exit non-zero with one line on stderr (an input an earlier hub command would have made)
#   "skip: why" not run
EXPECTED = {
    "python3 -m venv .venv": "ok",
    "> add.py && .venv/bin/codescaler rank add.py --line 2 --col 12": "ok",
    'rank --problem "Add two numbers." --json': "ok",
    "rank add.py --line 2 --col 12 --policy Qwen/Qwen2.5-Coder-1.5B": "hub",
    "codescaler serve --policy Qwen/Qwen2.5-Coder-1.5B": "hub",
    "rank add.py --line 2 --col 12 --engine ws://127.0.0.1:8765": "one line",  # no serve is running
    '-e ".[train]"': "ok",
    "> samples.jsonl": "ok",
    "codescaler verify --problems mbppplus --candidates samples.jsonl": "ok",
    "codescaler curate --problems mbppplus --policy Qwen/Qwen2.5-Coder-1.5B": "hub",
    "codescaler train-rm --pairs pairs.jsonl": "hub",
    "codescaler train-policy --problems mbppplus --policy Qwen/Qwen2.5-Coder-1.5B": "hub",
    "codescaler reward-server --reward-model rm/": "one line",  # train-rm above made no rm/
    "codescaler eval bon --problems humaneval": "hub",
    "codescaler eval rm --reward-model rm/": "one line",
    "codescaler eval fim --set single --policy Qwen/Qwen2.5-Coder-1.5B": "hub",
    "pip wheel --no-deps --no-build-isolation -w dist .": "ok",
    "npm ci && npm run package": "skip: tests/editors/test_vscode.py builds the .vsix with this script",
    "bash .ci/install && .venv/bin/python -m pytest": "skip: this is the command running this test",
    "> candidates.jsonl": "ok",
    'codescaler score -q "Add two numbers." -c candidates.jsonl': "ok",
    "score --reward-model LARK-Lab/CodeScaler-8B --question-file": "hub",
    "score --reward-model LARK-Lab/CodeScaler-8B --reward-backend vllm": "hub",
    "vllm serve LARK-Lab/CodeScaler-8B": "skip: vLLM's own server, not a codescaler command",
    "score --reward-model LARK-Lab/CodeScaler-8B --reward-backend http": "hub",
    "codescaler feedback stats": "one line",  # no editor has recorded anything on a fresh machine
    "codescaler feedback pairs --out accepted.jsonl": "one line",
}
VENV = "python3 -m venv .venv"
HUB_MODEL = re.compile(r"(?:--policy|--reward-model|--base) ((?:Qwen|LARK-Lab|Skywork)/[\w.-]+)")


def readme_commands(text: str) -> list[str]:
    """The commands of the README's ```bash blocks, continuation lines joined (bash reads their comments)."""
    commands = []
    for block in re.findall(r"^```bash\n(.*?)^```$", text, flags=re.S | re.M):
        for command in re.sub(r"\\\n\s*", "", block).splitlines():
            if command.strip() and not command.lstrip().startswith("#"):
                commands.append(command.strip())
    return commands


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", text, flags=re.S | re.M)


def expectation(command: str) -> str:
    found = [value for key, value in EXPECTED.items() if key in command]
    assert len(found) == 1, f"README command without exactly one line in EXPECTED: {command}"
    return found[0]


def test_every_expectation_names_a_readme_command():
    commands = readme_commands((ROOT / "README.md").read_text())
    unused = [key for key in EXPECTED if not any(key in command for command in commands)]
    assert not unused, f"EXPECTED lines that match no README command: {unused}"
    assert [expectation(command) for command in commands]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when this returns: connections are refused


@pytest.fixture
def fresh_clone(tmp_path: Path) -> Path:
    """The project's files (tracked and new, not ignored), copied where no ../shared is."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                           capture_output=True).stdout.decode().split("\0")  # fmt: skip
    clone = tmp_path / "codescaler"
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, clone / name)
    assert not (tmp_path / "shared").exists()
    return clone


@pytest.mark.slow
def test_the_readme_runs_as_written_in_a_fresh_clone(fresh_clone: Path, tmp_path: Path):
    readme = (fresh_clone / "README.md").read_text()
    home = tmp_path / "home"
    home.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("HF_", "TRANSFORMERS_", "CODESCALER_", "VIRTUAL_ENV", "PYTHON"))
    }
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        HF_ENDPOINT=f"http://127.0.0.1:{_closed_port()}",
        PATH=f"{fresh_clone / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        OMP_NUM_THREADS="1",
    )
    failures, ran = [], []
    for command in readme_commands(readme):
        expected = expectation(command)
        if expected.startswith("skip"):
            continue
        if command.startswith(VENV):  # the venv first, then the line's pip install as written
            subprocess.run(["bash", "-c", VENV], cwd=fresh_clone, env=env, check=True, timeout=120)
            _share_installed_packages(fresh_clone / ".venv")
            command = command.removeprefix(VENV).removeprefix(" && ")
        result = subprocess.run(["bash", "-c", command], cwd=fresh_clone, env=env, capture_output=True,
                                text=True, timeout=600)  # fmt: skip
        ran.append(command)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        problem = _judge(command, expected, result.returncode, lines)
        if problem:
            failures.append(f"{command}\n    {problem}\n    stdout: {result.stdout[-400:]!r}")
    for block in python_blocks(readme):  # the library snippet, with the bundled model for the hub one
        code = block.replace('"LARK-Lab/CodeScaler-1.7B"', '"bundled"')
        result = subprocess.run([str(fresh_clone / ".venv" / "bin" / "python"), "-c", code], cwd=fresh_clone,
                                env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
        if result.returncode != 0:
            failures.append(f"README python block failed:\n{result.stderr[-800:]}")
    assert len(ran) >= 15
    assert not failures, "\n".join(failures)
    assert list((fresh_clone / "dist").glob("codescaler-*.whl")), "pip wheel made no wheel"


def _share_installed_packages(venv: Path) -> None:
    """Then run `pip install torch==2.13.0 -e .` as written: its requirements are found installed."""
    purelib = sysconfig.get_paths()["purelib"]
    python = venv / "bin" / "python"
    target = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                            check=True, capture_output=True, text=True).stdout.strip()  # fmt: skip
    Path(target, "zz_test_run_packages.pth").write_text(purelib + "\n")


def _judge(command: str, expected: str, returncode: int, lines: list[str]) -> str | None:
    """What is wrong with this outcome, or None."""
    if expected == "ok":
        return None if returncode == 0 else f"exit {returncode}: {lines[-3:]}"
    if returncode == 0:
        return f"expected a one-line failure, exit 0 ({lines[-3:]})"
    if len(lines) != 1:
        return f"expected one line on stderr, got {len(lines)}: {lines[:6]}"
    if expected == "hub":
        model = HUB_MODEL.search(command)
        if not model or model[1] not in lines[0] or "hub" not in lines[0]:
            return f"the line does not name the hub model: {lines[0]}"
    return None
