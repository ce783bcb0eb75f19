"""The reward for other RL frameworks, with the request shapes they send: OpenRLHF's remote reward model
(`POST /get_reward`) and verl's custom reward function."""

from __future__ import annotations

import subprocess
import time

import httpx
import pytest

from engine.reward.transformers_backend import TransformersScorer
from tests.conftest import CODESCALER, free_port
from tests.test_serve import TOKEN, start_server, stop_server
from training.rl_reward import CodeReward

PROMPT = "<|im_start|>user\nAdd two numbers.<|im_end|>\n<|im_start|>assistant\n"
GOOD = "```python\ndef add(a, b):\n    return a + b\n```<|im_end|>"
BROKEN = "```python\ndef add(a, b) return\n```"


@pytest.fixture(scope="module")
def expected(tiny_reward):
    with TransformersScorer.from_pretrained(str(tiny_reward)) as scorer:
        return CodeReward(scorer=scorer).rewards(["Add two numbers."] * 2, [GOOD, BROKEN])


@pytest.fixture(scope="module")
def reward_server(tiny_reward, tmp_path_factory):
    port = free_port()
    token_file = tmp_path_factory.mktemp("rs") / "token"
    token_file.write_text("t0k\n")
    process = subprocess.Popen(
        [CODESCALER, "reward-server", "--reward-model", str(tiny_reward), "--port", str(port),
         "--token-file", str(token_file)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.25)
    yield url
    process.terminate()
    process.wait(10)


def test_openrlhf_request_shape(reward_server, expected):
    body = {"query": [PROMPT + GOOD, PROMPT + BROKEN], "prompts": [PROMPT, PROMPT],
            "labels": ["Add two numbers.", "Add two numbers."]}  # fmt: skip
    reply = httpx.post(f"{reward_server}/get_reward", json=body, headers={"Authorization": "Bearer t0k"})
    assert reply.status_code == 200
    data = reply.json()
    assert data["rewards"] == pytest.approx(expected, abs=1e-4) and data["scores"] == data["rewards"]
    assert data["rewards"][0] > 0 and data["rewards"][1] == 0.0
    assert data["extra_logs"]["valid"] == [1.0, 0.0]


def test_openrlhf_errors(reward_server):
    auth = {"Authorization": "Bearer t0k"}
    assert httpx.post(f"{reward_server}/get_reward", json={"query": ["x"]}).status_code == 401
    bad = httpx.post(f"{reward_server}/get_reward", json={"prompts": ["x"]}, headers=auth)
    assert bad.status_code == 400 and "query" in bad.json()["error"]
    mismatch = httpx.post(
        f"{reward_server}/get_reward", json={"query": ["a", "b"], "prompts": ["a"]}, headers=auth
    )
    assert mismatch.status_code == 400 and "same length" in mismatch.json()["error"]


def test_off_loopback_needs_a_token(tiny_reward):
    result = subprocess.run([CODESCALER, "reward-server", "--reward-model", str(tiny_reward), "--host", "0.0.0.0",
                             "--port", str(free_port())], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 1 and "token" in result.stderr


def test_verl_reward_function(tiny_models, tmp_path, monkeypatch, expected):
    from training import verl_reward

    process, port, log = start_server(tiny_models, tmp_path)
    try:
        monkeypatch.setenv("CODESCALER_ENGINE_URL", f"ws://127.0.0.1:{port}")
        monkeypatch.setenv("CODESCALER_ENGINE_TOKEN", TOKEN)
        info = {"question": "Add two numbers."}
        one = verl_reward.compute_score("codescaler", GOOD, None, info)
        batch = verl_reward.compute_score_batch(["a", "b"], [GOOD, BROKEN], ["Add two numbers."] * 2, None)
        assert one == pytest.approx(expected[0], abs=1e-4)
        assert batch == pytest.approx(expected, abs=1e-4)
    finally:
        stop_server(process, log)
