"""The bundled default models: shipped in the package and used wherever no model is configured."""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

import engine.default_models as default_models
from engine.errors import CodescalerError
from engine.model_spec import ModelSpec
from tests.lsp.conftest import CODESCALER, SERVER_ENV
from tests.test_cli import one_line_error, run

ROOT = Path(__file__).resolve().parents[1]
DOCUMENT = "def add(a, b):\n    return \n"


@pytest.fixture
def empty_config(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("[completion]\nn = 4\nmax_new_tokens = 24\n")
    return config


def test_rank_without_models_uses_the_bundled_ones(codescaler_cli, empty_config, tmp_path):
    document = tmp_path / "add.py"
    document.write_text(DOCUMENT)
    where = [
        str(document),
        "--line",
        "2",
        "--col",
        "12",
        "--json",
        "--seed",
        "3",
        "--config",
        str(empty_config),
    ]
    unset = run(codescaler_cli, "rank", *where)
    assert unset.returncode == 0, unset.stderr
    items = json.loads(unset.stdout)["items"]
    assert items and all(
        {"text", "valid", "score", "reward", "rank", "replaces"} <= set(item) for item in items
    )
    named = run(codescaler_cli, "rank", *where, "--policy", "bundled", "--reward-model", "bundled")
    assert named.returncode == 0, named.stderr
    assert json.loads(named.stdout)["items"] == items  # `bundled` names exactly what an unset model loads
    problem = run(
        codescaler_cli, "rank", "--problem", "Add two numbers.", "--json", "--config", str(empty_config)
    )
    assert problem.returncode == 0, problem.stderr
    assert isinstance(json.loads(problem.stdout)["items"], list)


def test_a_missing_bundled_model_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(default_models, "ROOT", tmp_path)
    with pytest.raises(CodescalerError, match=r"bundled policy model is missing .*--policy"):
        ModelSpec().resolved()
    named = ModelSpec(policy=str(tmp_path / "a"), reward_model=str(tmp_path / "b"))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert named.resolved() == named  # named models are used as named


def test_a_hub_model_that_cannot_be_fetched_fails_at_once_in_one_line(codescaler_cli, tmp_path):
    """No hub is reachable here: one line naming the model and the way out, not half a minute of retries;
    offline, one line saying the model is not downloaded."""
    document = tmp_path / "f.py"
    document.write_text("x = \n")
    args = [
        codescaler_cli,
        "rank",
        str(document),
        "--line",
        "1",
        "--col",
        "5",
        "--policy",
        "Qwen/Qwen2.5-Coder-1.5B",
    ]
    online = {key: value for key, value in os.environ.items() if key != "HF_HUB_OFFLINE"}
    for env, message in (
        (online, "cannot fetch --policy Qwen/Qwen2.5-Coder-1.5B from the Hugging Face hub"),
        ({**online, "HF_HUB_OFFLINE": "1"}, "--policy Qwen/Qwen2.5-Coder-1.5B is neither a local folder nor downloaded"),
    ):  # fmt: skip
        result = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)
        one_line_error(result, message, "a local folder")


def test_models_show_names_the_folders_and_cards(codescaler_cli):
    result = run(codescaler_cli, "models", "show")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"policy: {default_models.ROOT / 'policy'}") and "bundled policy" in lines[0]
    assert lines[1].startswith(f"reward: {default_models.ROOT / 'reward'}") and "reward model" in lines[1]


def test_the_wheel_ships_the_models_within_20_mb(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True, capture_output=True, cwd=tmp_path,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("codescaler-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        shipped = {info.filename: info.file_size for info in archive.infolist()}
    for role in ("policy", "reward"):
        for name in ("config.json", "model.safetensors", "tokenizer.json", "README.md"):
            assert f"engine/default_models/{role}/{name}" in shipped
    models = sum(size for name, size in shipped.items() if name.startswith("engine/default_models/"))
    assert models <= 20 * 2**20


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[CODESCALER, "lsp"], server_env=SERVER_ENV))
async def client(lsp_client: LanguageClient):
    settings = {"completion": {"n": 4, "max_new_tokens": 16, "line_mode": "single", "debounce_ms": 0}}
    params = types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"), initialization_options=settings
    )
    await lsp_client.initialize_session(params)
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_the_language_server_completes_with_no_model_configured(client: LanguageClient):
    """No [models] anywhere (an empty config home): the server loads the bundled pair and suggests."""
    uri = "file:///tmp/codescaler-default/notes.py"
    text = "x = 1\n# the value of x is \n"  # the end of a comment: any single line of text is valid there
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, text))
    )
    result = await client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
            text_document=types.TextDocumentIdentifier(uri),
            position=types.Position(1, len("# the value of x is ")),
        )
    )
    items = result if isinstance(result, list) else result.items
    assert items and all(item.insert_text.strip() for item in items)
    stats = await client.protocol.send_request_async("codescaler/stats", None)
    assert stats.engine.state == "ready" and stats.engine.detail == "models bundled + bundled"


def test_a_hub_id_the_hub_confirmed_is_not_asked_for_again(monkeypatch):
    """A command checks its models up front and its loaders check again: one HEAD request, not two."""
    import http.server
    import threading

    from engine import hub

    asked: list[str] = []

    class Hub(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:
            asked.append(self.path)
            self.send_response(404 if "missing" in self.path else 200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
    try:
        hub.check_available("someone/model-a", "--policy")
        hub.check_available("someone/model-a", "--policy")
        assert asked == ["/someone/model-a/resolve/main/config.json"]
        for _ in range(2):  # a refusal is not remembered: each check asks, and each fails
            with pytest.raises(CodescalerError, match="not on the Hugging Face hub"):
                hub.check_available("someone/missing", "--reward-model")
        assert len(asked) == 3
    finally:
        server.shutdown()
