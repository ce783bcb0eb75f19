"""The `codescaler` console script, run as a user runs it."""

import hashlib
import json
import subprocess

import pytest

from tests.conftest import free_port, requires_vllm

CANDIDATES = [
    {"response": "Here you go:\n```python\ndef add(a, b):\n    return a + b\n```"},
    {"response": "```python\ndef add(a, b) return a + b\n```"},
    {"response": "Two tries:\n```python\na = 1\n```\n```python\nb = 2\n```"},
    {"code": "func add(a int, b int) int { return a + b }", "language": "go"},
    {"code": "fn add(a: i32, b: i32) -> i32 { a + b }", "language": "rust"},
    {"code": "def add(a, b):\n    return b + a"},
    {"code": "main = print 1", "language": "haskell"},
]


def run(cli, *args, stdin=None):
    return subprocess.run([cli, *args], capture_output=True, text=True, input=stdin, timeout=600)


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.mark.parametrize("command", [[], ["score"], ["dev"], ["dev", "tiny-models"]])
def test_every_command_has_help(codescaler_cli, command):
    result = run(codescaler_cli, *command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage: codescaler" in result.stdout


def test_version(codescaler_cli):
    result = run(codescaler_cli, "--version")
    assert result.returncode == 0 and result.stdout.startswith("codescaler ")


def test_score_prints_one_ranked_object_per_candidate_in_input_order(codescaler_cli, tiny_reward, tmp_path):
    candidates = write_jsonl(tmp_path / "c.jsonl", CANDIDATES)
    result = run(codescaler_cli, "score", "--reward-model", str(tiny_reward), "-q", "Add two numbers.",
                 "--candidates", str(candidates), "--language", "python")  # fmt: skip
    assert result.returncode == 0 and "deprecated" not in result.stderr, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == len(CANDIDATES)
    for row in rows:
        assert {"code", "language", "valid", "score", "reward", "rank"} <= row.keys()
    assert rows[0]["code"] == "def add(a, b):\n    return a + b" and rows[0]["valid"] is True
    assert rows[1]["valid"] is False and rows[1]["score"] is None and rows[1]["reward"] == 0.0
    assert rows[2]["code"] == "" and rows[2]["valid"] is False  # two blocks: the reference rule gives nothing
    assert rows[3]["language"] == "go" and rows[3]["valid"] is True
    assert rows[5]["language"] == "python"  # --language fills in rows that name none
    assert rows[6]["valid"] is None and "unknown language (haskell)" in rows[6]["reason"]
    assert sorted(row["rank"] for row in rows) == list(range(1, len(rows) + 1))
    by_rank = sorted(rows, key=lambda row: row["rank"])
    assert [r["reward"] for r in by_rank] == sorted((r["reward"] for r in rows), reverse=True)
    assert all(r["reward"] > 0 for r in rows if r["valid"] is not False)  # valid beats invalid


def test_score_agrees_with_the_python_api(codescaler_cli, tiny_reward, tmp_path):
    from engine.reward.transformers_backend import TransformersScorer

    candidates = write_jsonl(tmp_path / "c.jsonl", [{"code": "x = 1", "language": "python"}])
    question = tmp_path / "question.txt"
    question.write_text("Set x to one. 日本語")
    result = run(codescaler_cli, "score", "-m", str(tiny_reward), "--question-file", str(question),
                 "-c", str(candidates))  # fmt: skip
    assert result.returncode == 0, result.stderr
    expected = TransformersScorer.from_pretrained(str(tiny_reward)).score(
        [("Set x to one. 日本語", "x = 1")]
    )[0]
    assert json.loads(result.stdout)["score"] == pytest.approx(expected, abs=1e-5)


def test_language_comes_from_the_row_then_its_path_then_the_fence_then_the_default(
    codescaler_cli, tiny_reward, tmp_path
):
    rows = [
        {"response": "```go\npackage main\n```"},
        {"code": "fn main() {}", "path": "src/main.rs"},
        {"code": "x = 1", "language": "python", "path": "src/main.rs"},
        {"code": "x = 1"},
        {"response": "```\nx = 1\n```"},
    ]
    candidates = write_jsonl(tmp_path / "c.jsonl", rows)
    result = run(codescaler_cli, "score", "-m", str(tiny_reward), "-q", "q", "-c", str(candidates),
                 "--language", "python")  # fmt: skip
    assert result.returncode == 0, result.stderr
    languages = [json.loads(line)["language"] for line in result.stdout.splitlines()]
    assert languages == ["go", "rust", "python", "python", "python"]


def test_raw_shaping_scores_invalid_code_too(codescaler_cli, tiny_reward, tmp_path):
    candidates = write_jsonl(tmp_path / "c.jsonl", [{"code": "def f(:", "language": "python"}])
    result = run(codescaler_cli, "score", "-m", str(tiny_reward), "-q", "q", "-c", str(candidates),
                 "--shaping", "raw")  # fmt: skip
    row = json.loads(result.stdout)
    assert row["valid"] is False and row["score"] is not None and row["reward"] == row["score"]


def test_score_reads_stdin_and_writes_an_output_file(codescaler_cli, tiny_reward, tmp_path):
    out = tmp_path / "out" / "scores.jsonl"
    result = run(codescaler_cli, "score", "-m", str(tiny_reward), "-q", "q", "-c", "-", "-o", str(out),
                 stdin='{"code": "x = 1", "language": "python"}\n')  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert json.loads(out.read_text())["valid"] is True
    assert [p.name for p in out.parent.iterdir()] == ["scores.jsonl"]  # no temporary file left


def test_long_question_reports_what_was_cut(codescaler_cli, tiny_reward, tmp_path):
    candidates = write_jsonl(tmp_path / "c.jsonl", [{"code": "x = 1", "language": "python"}])
    result = run(codescaler_cli, "score", "-m", str(tiny_reward), "-q", "word " * 2000, "-c", str(candidates),
                 "--max-tokens", "128")  # fmt: skip
    row = json.loads(result.stdout)
    assert row["question_chars_cut"] > 0 and row["code_chars_cut"] == 0


def one_line_error(result, *fragments):
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("codescaler: error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[-1], lines[-1]


def test_bad_json_names_the_line(codescaler_cli, tiny_reward, tmp_path):
    candidates = tmp_path / "c.jsonl"
    candidates.write_text('{"code": "x = 1"}\n\n{"code": oops}\n')
    result = run(codescaler_cli, "score", "-m", str(tiny_reward), "-q", "q", "-c", str(candidates))
    one_line_error(result, f"{candidates}:3: invalid JSON")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"text": "x"}, "needs exactly one of 'response' or 'code'"),
        ({"code": "x", "response": "y"}, "needs exactly one of 'response' or 'code'"),
        ({"code": 5}, "field 'code' must be a string"),
        (["code"], "expected a JSON object"),
    ],
)
def test_malformed_rows_name_the_problem(codescaler_cli, tiny_reward, tmp_path, row, message):
    candidates = write_jsonl(tmp_path / "c.jsonl", [{"code": "ok"}, row])
    result = run(codescaler_cli, "score", "-m", str(tiny_reward), "-q", "q", "-c", str(candidates))
    one_line_error(result, f"{candidates}:2:", message)


def test_missing_candidates_file(codescaler_cli, tiny_reward, tmp_path):
    result = run(
        codescaler_cli, "score", "-m", str(tiny_reward), "-q", "q", "-c", str(tmp_path / "none.jsonl")
    )
    one_line_error(result, "cannot read", "none.jsonl")


def test_missing_model_folder(codescaler_cli, tmp_path):
    candidates = write_jsonl(tmp_path / "c.jsonl", CANDIDATES[:1])
    result = run(codescaler_cli, "score", "-m", str(tmp_path / "no-model"), "-q", "q", "-c", str(candidates))
    one_line_error(result, "model folder", "does not exist")


def test_folder_that_is_not_a_reward_model(codescaler_cli, tiny_models, tmp_path):
    candidates = write_jsonl(tmp_path / "c.jsonl", CANDIDATES[:1])
    result = run(codescaler_cli, "score", "-m", str(tiny_models["policy"]), "-q", "q", "-c", str(candidates))
    one_line_error(result, "Qwen3ForCausalLM, not a sequence-classification reward model")


def test_question_is_required_exactly_once(codescaler_cli, tiny_reward, tmp_path):
    candidates = write_jsonl(tmp_path / "c.jsonl", CANDIDATES[:1])
    result = run(codescaler_cli, "score", "-m", str(tiny_reward), "-c", str(candidates))
    one_line_error(result, "exactly one of --question or --question-file")


def test_unreachable_server(codescaler_cli, tiny_reward, tmp_path):
    candidates = write_jsonl(tmp_path / "c.jsonl", CANDIDATES[:1])
    url = f"http://127.0.0.1:{free_port()}"
    result = run(codescaler_cli, "score", "--reward-model", str(tiny_reward), "--reward-backend", "http",
                 "--reward-url", url, "-q", "q", "-c", str(candidates))  # fmt: skip
    one_line_error(result, "cannot reach the reward server", url)


def test_the_old_score_flags_still_work_with_a_warning(codescaler_cli, tiny_reward, tmp_path):
    """`--model/-m`, `--backend` and `--url` were `score`'s names before the flags were shared."""
    candidates = write_jsonl(tmp_path / "c.jsonl", CANDIDATES[:1])
    url = f"http://127.0.0.1:{free_port()}"
    result = run(codescaler_cli, "score", "-m", str(tiny_reward), "--backend", "http", "--url", url,
                 "-q", "q", "-c", str(candidates))  # fmt: skip
    one_line_error(result, "cannot reach the reward server", url)  # the old flags took effect
    for old, new in (("model", "reward-model"), ("backend", "reward-backend"), ("url", "reward-url")):
        assert f"codescaler: warning: --{old} is deprecated; use --{new}" in result.stderr


def test_http_backend_without_url(codescaler_cli, tiny_reward, tmp_path):
    candidates = write_jsonl(tmp_path / "c.jsonl", CANDIDATES[:1])
    result = run(
        codescaler_cli, "score", "-m", str(tiny_reward), "--backend", "http", "-q", "q", "-c", str(candidates)
    )
    one_line_error(result, "needs the server's URL")


@requires_vllm
@pytest.mark.parametrize("backend", ["http", "vllm"])
def test_vllm_backends_from_the_command_line(
    codescaler_cli, tiny_reward, vllm_reward_server, tmp_path, backend
):
    candidates = write_jsonl(tmp_path / "c.jsonl", CANDIDATES)
    common = ["score", "-m", str(tiny_reward), "-q", "Add two numbers.", "-c", str(candidates), "--language", "python",
              "--max-tokens", "512"]  # fmt: skip
    reference = run(codescaler_cli, *common)
    extra = ["--backend", "http", "--url", vllm_reward_server] if backend == "http" else ["--backend", "vllm"]
    result = run(codescaler_cli, *common, *extra)
    assert result.returncode == 0, result.stderr[-3000:]
    expected = [json.loads(line) for line in reference.stdout.splitlines()]
    got = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["rank"] for r in got] == [r["rank"] for r in expected]
    for mine, theirs in zip(got, expected, strict=True):
        if theirs["score"] is None:
            assert mine["score"] is None
        else:
            assert mine["score"] == pytest.approx(theirs["score"], abs=1e-4)


def folder_digest(folder):
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def test_tiny_models_are_deterministic_complete_model_folders(codescaler_cli, tiny_models, tmp_path):
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

    result = run(codescaler_cli, "dev", "tiny-models", str(tmp_path / "models"))
    assert result.returncode == 0, result.stderr
    assert "policy:" in result.stdout and "reward:" in result.stdout
    for name in ("policy", "reward"):
        assert folder_digest(tmp_path / "models" / name) == folder_digest(tiny_models[name])
    policy = AutoModelForCausalLM.from_pretrained(tmp_path / "models" / "policy")
    reward = AutoModelForSequenceClassification.from_pretrained(tmp_path / "models" / "reward")
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "models" / "policy")
    assert type(policy).__name__ == "Qwen3ForCausalLM"
    assert type(reward).__name__ == "Qwen3ForSequenceClassification" and reward.config.num_labels == 1
    for token in ("<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|im_start|>", "<|im_end|>"):
        assert len(tokenizer(token, add_special_tokens=False)["input_ids"]) == 1
    assert tokenizer.chat_template and tokenizer.pad_token == tokenizer.eos_token == "<|endoftext|>"


def test_a_missing_training_extra_is_named_before_any_work():
    from training.cli.extra import missing

    requirements = ['trl==1.16.0; extra == "train"', 'surely-not-installed-xyz==1.0; extra == "train"',
                    'not-this-one==1; extra == "vllm-cpu"', "typer==0.29.2"]  # fmt: skip
    assert missing("train", requirements) == ["surely-not-installed-xyz"]
    from importlib.metadata import requires

    assert missing("train", requires("codescaler") or []) == []  # CI installs the extra


def test_help_shows_plain_flags_without_a_type(codescaler_cli):
    result = run(codescaler_cli, "rank", "--help")
    assert result.returncode == 0
    assert "<bool>" not in result.stdout and "--json " in result.stdout and "--line <int>" in result.stdout
