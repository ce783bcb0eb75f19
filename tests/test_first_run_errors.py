"""What a newcomer gets wrong, answered in one line with exit status 1 (and before any model loads)."""

import socket

import pytest

from tests.conftest import CODESCALER
from tests.test_cli import one_line_error, run


@pytest.fixture
def busy_port():
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    yield holder.getsockname()[1]
    holder.close()


@pytest.mark.parametrize(
    "command",
    [
        ["serve"],
        ["lsp", "--tcp"],
        ["lsp", "--ws"],
        ["reward-server", "--reward-model", "bundled"],
    ],
)
def test_a_busy_port_is_one_line_before_the_models_load(busy_port, command):
    result = run(CODESCALER, *command, "--port", str(busy_port))
    one_line_error(result, f"cannot listen on 127.0.0.1:{busy_port}", "choose another --port")
    assert "loading models" not in result.stdout + result.stderr


@pytest.mark.parametrize("url", ["http://127.0.0.1:8765", "127.0.0.1:8765"])
def test_an_engine_address_that_is_not_a_websocket_url_gets_a_hint(tmp_path, url):
    result = run(CODESCALER, "rank", "--problem", "Add two numbers.", "--engine", url)
    one_line_error(result, "is not a websocket URL", "did you mean ws://127.0.0.1:8765?")


def test_a_config_file_that_is_not_utf8_is_one_line(tmp_path):
    config = tmp_path / "config.toml"
    config.write_bytes(b'[completion]\nline_mode = "\xff\xfe"\n')
    one_line_error(run(CODESCALER, "rank", "--problem", "x", "--config", str(config)), "is not UTF-8 text")


def test_an_empty_problem_is_refused():
    one_line_error(run(CODESCALER, "rank", "--problem", "  "), "problem must not be empty")


def test_an_unknown_language_is_named_not_ignored(tmp_path):
    document = tmp_path / "f.cob"
    document.write_text("x = \n")
    result = run(CODESCALER, "rank", str(document), "--line", "1", "--col", "5", "--language", "cobol",
                 "-n", "2", "--max-new-tokens", "4")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "warning: unknown language 'cobol': candidates are not syntax-checked" in result.stderr


def test_one_real_model_with_the_bundled_other_is_warned_about(tmp_path, tiny_models):
    document = tmp_path / "f.py"
    document.write_text("x = \n")
    result = run(CODESCALER, "rank", str(document), "--line", "1", "--col", "5", "--policy", str(tiny_models["policy"]),
                 "-n", "2", "--max-new-tokens", "4")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (
        "only one model is set: the reward model is the small bundled one (set --reward-model too)"
        in result.stderr
    )
