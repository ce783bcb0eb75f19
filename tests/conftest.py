"""Shared fixtures: tiny real models, a real vLLM engine environment, and a real vLLM server.

The vLLM settings below are the ones that make its CPU build fast and contained in tests (in-process
engine, one OpenMP thread, a 1 GiB KV cache, caches under the test session's temp folder); they must be
set before vLLM is imported, so they live at the top of this file.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

_CACHE = Path(os.environ.get("CODESCALER_TEST_CACHE", Path(tempfile.gettempdir()) / "codescaler-test-cache"))
os.environ.update(
    VLLM_ENABLE_V1_MULTIPROCESSING="0",
    OMP_NUM_THREADS="1",
    VLLM_CPU_KVCACHE_SPACE="1",
    VLLM_HOST_IP="127.0.0.1",
    VLLM_NO_USAGE_STATS="1",
    DO_NOT_TRACK="1",
    HF_HUB_OFFLINE="1",
    TRANSFORMERS_OFFLINE="1",
    TOKENIZERS_PARALLELISM="false",
    VLLM_CACHE_ROOT=str(_CACHE / "vllm"),
    TORCHINDUCTOR_CACHE_DIR=str(_CACHE / "inductor"),
    VLLM_RPC_BASE_PATH=str(_CACHE / "rpc"),
)
(_CACHE / "rpc").mkdir(parents=True, exist_ok=True)
# Feedback the language servers of the tests record goes to this session's own folder, never the user's.
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="codescaler-test-data-")

import torch  # noqa: E402

torch.set_num_threads(1)

CODESCALER = str(Path(sys.executable).with_name("codescaler"))


def vllm_available() -> bool:
    try:
        import vllm  # noqa: F401
    except ImportError:
        return False
    return True


requires_vllm = pytest.mark.skipif(not vllm_available(), reason="vLLM CPU build not installed")


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The tiny policy and reward model folders, built once per test session."""
    from engine.devtools.tiny_models import build_tiny_models

    return build_tiny_models(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="session")
def tiny_reward(tiny_models: dict[str, Path]) -> Path:
    return tiny_models["reward"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, process: subprocess.Popen, timeout_s: float, log: Path) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(1)
    raise RuntimeError(f"server not healthy after {timeout_s} s:\n{log.read_text()[-4000:]}")


def serve_vllm(model: Path, name: str, extra: list[str], log: Path) -> Iterator[str]:
    """Run a real vLLM server (CPU build) on a free loopback port; yields its base URL, then stops it."""
    if not vllm_available():
        pytest.skip("vLLM CPU build not installed")
    port = free_port()
    command = [
        sys.executable, "-m", "vllm.entrypoints.openai.api_server",
        "--model", str(model), "--served-model-name", name, "--dtype", "float32", "--enforce-eager",
        "--max-model-len", "512", "--kv-cache-memory-bytes", "64M",
        "--host", "127.0.0.1", "--port", str(port), *extra,
    ]  # fmt: skip
    with open(log, "w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health", process, 300, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, 15)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()


@pytest.fixture(scope="session")
def vllm_reward_server(tiny_reward: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real vLLM server serving the tiny reward model (`--runner pooling`)."""
    log = tmp_path_factory.mktemp("vllm-reward-server") / "server.log"
    yield from serve_vllm(tiny_reward, "tiny-reward", ["--runner", "pooling"], log)


@pytest.fixture(scope="session")
def vllm_policy_server(
    tiny_models: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A real vLLM server serving the tiny policy (OpenAI-compatible /v1/completions)."""
    log = tmp_path_factory.mktemp("vllm-policy-server") / "server.log"
    yield from serve_vllm(tiny_models["policy"], "tiny-policy", [], log)


@pytest.fixture(scope="session")
def codescaler_cli() -> str:
    """Path of the installed `codescaler` console script."""
    assert shutil.which(CODESCALER), f"console script not found at {CODESCALER}: pip install -e ."
    return CODESCALER


def stop_process_group(process: subprocess.Popen) -> None:
    """End a process started with its own session, and everything it started (Chromium under Node)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    else:
        with contextlib.suppress(ProcessLookupError):  # children left behind by a process that ended
            os.killpg(process.pid, signal.SIGKILL)
