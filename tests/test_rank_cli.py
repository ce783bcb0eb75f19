"""`codescaler rank` as a user runs it, on the tiny models (in-process and through real vLLM servers)."""

import json

import pytest

from tests.conftest import requires_vllm
from tests.test_cli import one_line_error, run

DOCUMENT = "def add(a, b):\n    return \n\nprint(add(1, 2))  # 日本語\n"


@pytest.fixture
def document(tmp_path):
    path = tmp_path / "add.py"
    path.write_text(DOCUMENT)
    return path


def models(tiny_models):
    return ["--policy", str(tiny_models["policy"]), "--reward-model", str(tiny_models["reward"])]


def check_items(reply, n, cursor=None):
    """`--json`: the engine's result, every candidate, valid ones first, positions 1-based."""
    items = reply["items"]
    assert 1 <= len(items) <= n and reply["generated"] == n and isinstance(reply["dropped"], dict)
    assert reply["cursor"] == cursor
    validity = [item["valid"] is not False for item in items]
    assert validity == sorted(validity, reverse=True)  # valid first
    valid = [item for item in items if item["valid"] is not False]
    rewards = [item["reward"] for item in valid]
    assert rewards == sorted(rewards, reverse=True)
    for item in items:
        assert {"text", "valid", "reason", "score", "reward", "rank"} <= item.keys()
        assert (item["score"] is None) == (item["valid"] is False)
        assert item["valid"] is not False or item["reason"]
        if cursor is not None:
            assert item["replaces"]["start"] == cursor
            assert item["replaces"]["end"]["column"] == cursor["column"] + item["replace_chars"]
        else:
            assert "replaces" not in item


def test_help(codescaler_cli):
    result = run(codescaler_cli, "rank", "--help")
    assert result.returncode == 0 and "--policy" in result.stdout and "--marker" in result.stdout


def test_cursor_by_line_and_column(codescaler_cli, tiny_models, document):
    result = run(codescaler_cli, "rank", str(document), "--line", "2", "--col", "12", *models(tiny_models),
                 "-n", "4", "--max-new-tokens", "8", "--seed", "1", "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    check_items(json.loads(result.stdout), 4, {"line": 2, "column": 12})


def test_cursor_by_marker_and_text_output(codescaler_cli, tiny_models, tmp_path):
    path = tmp_path / "m.py"
    path.write_text("x = [1, 2]\ny = len(<CURSOR>)\n")
    result = run(codescaler_cli, "rank", str(path), "--marker", "<CURSOR>", *models(tiny_models),
                 "-n", "3", "--max-new-tokens", "6", "--seed", "2")  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("3 sampled") and "ranked: " in lines[0]
    shown = [line for line in lines[1:] if line.startswith("#")]
    assert [line.split()[0] for line in shown] == [f"#{i}" for i in range(1, len(shown) + 1)]
    for number, line in enumerate(lines):  # each suggestion as the completed line, insertion marked
        if line.startswith("#"):
            assert lines[number + 1].startswith("    2 | y = len(⟦")
    if not shown:
        assert lines[1].startswith("no valid suggestion: ")
    assert not any(line.startswith("invalid:") for line in lines)  # only with --all


def test_problem_statement(codescaler_cli, tiny_models):
    result = run(codescaler_cli, "rank", "--problem", "Add two numbers.", *models(tiny_models),
                 "-n", "3", "--max-new-tokens", "8", "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    check_items(json.loads(result.stdout), 3)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--line", "9", "--col", "1"], "line 9 is outside the document"),
        (["--line", "2", "--col", "40"], "column 40 is outside line 2"),
        (["--marker", "@@"], "must occur exactly once"),
        ([], "give the cursor with --line and --col, or with --marker"),
        (["--line", "2", "--col", "12", "--problem", "x"], "either FILE with a cursor, or --problem"),
    ],
)
def test_bad_cursor_arguments(codescaler_cli, tiny_models, document, args, message):
    one_line_error(run(codescaler_cli, "rank", str(document), *args, *models(tiny_models)), message)


def test_wrong_model_kinds(codescaler_cli, tiny_models, document):
    swapped = ["--policy", str(tiny_models["reward"]), "--reward-model", str(tiny_models["policy"])]
    result = run(codescaler_cli, "rank", str(document), "--line", "2", "--col", "12", *swapped)
    one_line_error(result, "not a causal language model")


def test_missing_document(codescaler_cli, tiny_models, tmp_path):
    result = run(
        codescaler_cli, "rank", str(tmp_path / "none.py"), "--line", "1", "--col", "1", *models(tiny_models)
    )
    one_line_error(result, "cannot read document")


@requires_vllm
def test_through_real_vllm_servers(
    codescaler_cli, tiny_models, document, vllm_policy_server, vllm_reward_server
):
    result = run(codescaler_cli, "rank", str(document), "--line", "2", "--col", "12", *models(tiny_models),
                 "--policy-backend", "openai", "--policy-url", vllm_policy_server,
                 "--reward-backend", "http", "--reward-url", vllm_reward_server,
                 "-n", "4", "--max-new-tokens", "8", "--seed", "1", "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    check_items(json.loads(result.stdout), 4, {"line": 2, "column": 12})


def test_workspace_context_reaches_the_prompt(codescaler_cli, tiny_models, tmp_path):
    from tests.workspace.project import FILES, make_project

    root = make_project(tmp_path / "project")
    lines = FILES["pkg/main.py"].rstrip("\n").split("\n")
    cursor = ["--line", str(len(lines)), "--col", str(len(lines[-1]) + 1)]
    result = run(codescaler_cli, "rank", str(root / "pkg/main.py"), *cursor, "--workspace", str(root), "-n", "2",
                 "--max-new-tokens", "8", "--json", *models(tiny_models))  # fmt: skip
    assert result.returncode == 0, result.stderr
    used = [(c["path"], c["symbol"]) for c in json.loads(result.stdout)["context"]]
    assert used[:2] == [("pkg/store.py", "Store"), ("pkg/config.py", "load_config")]
    plain = run(codescaler_cli, "rank", str(root / "pkg/main.py"), *cursor, "-n", "2", "--max-new-tokens", "8",
                "--json", *models(tiny_models))  # fmt: skip
    assert json.loads(plain.stdout)["context"] == []
    outside = tmp_path / "elsewhere.py"
    outside.write_text(FILES["pkg/main.py"])
    refused = run(
        codescaler_cli, "rank", str(outside), *cursor, "--workspace", str(root), *models(tiny_models)
    )
    one_line_error(refused, "is not inside --workspace")
