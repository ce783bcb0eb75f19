"""One documented precedence: defaults < config file < CLI flags < initializationOptions < live changes
(pushed with didChangeConfiguration, or pulled with workspace/configuration)."""

from __future__ import annotations

import time

import pytest

from engine.errors import CodescalerError
from engine.settings import DEFAULTS, Settings, editor_layer
from tests.lsp.conftest import CODESCALER, SERVER_ENV
from tests.lsp.raw_client import RawLspClient


def test_layers_apply_in_order():
    file = {"completion": {"n": 5, "temperature": 0.3, "max_new_tokens": 20}}
    cli = {"completion": {"n": 3}}
    init = {"completion": {"max_new_tokens": 9, "debounce_ms": 10}}
    live = {"completion": {"debounce_ms": 200}}
    completion = Settings.from_layers(file, cli, init, live).completion
    assert completion["n"] == 3 and completion["temperature"] == 0.3
    assert completion["max_new_tokens"] == 9 and completion["debounce_ms"] == 200
    assert completion["top_p"] == DEFAULTS["completion"]["top_p"]


def test_languages_switch_on_and_off():
    settings = Settings.from_layers({"completion": {"enabled": False}, "languages": {"python": True}})
    assert settings.enabled_for("python") and not settings.enabled_for("rust")
    settings = Settings.from_layers({"languages": {"markdown": False}})
    assert not settings.enabled_for("markdown") and settings.enabled_for("python")


def test_editor_settings_may_come_under_a_codescaler_key_and_are_checked():
    assert editor_layer({"codescaler": {"completion": {"n": 2}}}, "x") == {"completion": {"n": 2}}
    assert editor_layer(None, "x") == {}
    with pytest.raises(CodescalerError, match=r"initializationOptions: completion\.n must be int"):
        editor_layer({"completion": {"n": "two"}}, "initializationOptions")
    with pytest.raises(CodescalerError, match=r"completion\.n must be at least 1"):
        Settings.from_layers({"completion": {"n": 0}})


def settings_of(client) -> dict:
    return client.request("codescaler/stats", None)["result"]["settings"]


@pytest.fixture
def client(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("[completion]\nn = 5\ntemperature = 0.3\nmax_new_tokens = 20\n")
    client = RawLspClient([CODESCALER, "lsp", "--config", str(config), "-n", "3"], env=SERVER_ENV)
    yield client
    client.close()


def test_the_server_applies_the_precedence(client):
    client.initialize({"completion": {"max_new_tokens": 9}}, {"workspace": {"configuration": True}})
    completion = settings_of(client)["completion"]
    assert (completion["n"], completion["max_new_tokens"], completion["temperature"]) == (3, 9, 0.3)
    client.notify("workspace/didChangeConfiguration", {"settings": {"completion": {"n": 2}}})  # push
    assert settings_of(client)["completion"]["n"] == 2
    client.configuration["codescaler"] = {"completion": {"temperature": 0.0}}  # pull (VS Code style)
    client.notify("workspace/didChangeConfiguration", {"settings": None})
    deadline = time.monotonic() + 10
    while settings_of(client)["completion"]["temperature"] != 0.0 and time.monotonic() < deadline:
        time.sleep(0.05)
    completion = settings_of(client)["completion"]
    assert completion["temperature"] == 0.0 and completion["n"] == 3  # the live layer was replaced


def test_bad_editor_settings_are_reported_and_ignored(client):
    client.initialize({"completion": {"n": "many"}})
    assert settings_of(client)["completion"]["n"] == 3  # the layers below still apply
    shown = [m["params"]["message"] for m in client.notifications if m.get("method") == "window/showMessage"]
    ignored = [message for message in shown if "ignoring settings" in message]
    assert len(ignored) == 1 and "completion.n must be int" in ignored[0]


def test_bad_cli_settings_stop_the_server_at_once(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("[completion]\nline_mode = 'sometimes'\n")
    import subprocess

    result = subprocess.run([CODESCALER, "lsp", "--config", str(config)], capture_output=True, text=True,
                            env=SERVER_ENV, timeout=60, stdin=subprocess.DEVNULL)  # fmt: skip
    assert (
        result.returncode == 1 and "completion.line_mode must be one of auto, single, multi" in result.stderr
    )
