"""The three scoring backends give the same numbers: transformers, offline vLLM, and a vLLM server."""

import pytest

from engine.reward.http_backend import HttpScorer
from engine.reward.transformers_backend import TransformersScorer
from tests.conftest import requires_vllm
from tests.pairs import VARIED_PAIRS

BUDGET = 256

pytestmark = requires_vllm


@pytest.fixture(scope="module")
def transformers_scores(tiny_reward):
    scorer = TransformersScorer.from_pretrained(str(tiny_reward), max_tokens=BUDGET)
    inputs = scorer.format(VARIED_PAIRS)
    return inputs, scorer.score_inputs(inputs)


def test_pairs_cover_the_hard_cases(transformers_scores):
    inputs, _ = transformers_scores
    assert len(VARIED_PAIRS) >= 32
    assert any(i.question_chars_cut for i in inputs)  # longer than the budget
    assert any(i.code_chars_cut for i in inputs)
    assert any(code == "" for _, code in VARIED_PAIRS)
    assert all(len(i.token_ids) <= BUDGET for i in inputs)


def test_offline_vllm_matches_transformers(tiny_reward, transformers_scores):
    from engine.reward.vllm_backend import VllmScorer

    inputs, expected = transformers_scores
    scorer = VllmScorer(str(tiny_reward), max_tokens=BUDGET, kv_cache_memory_bytes=64 << 20)
    try:
        assert [i.token_ids for i in scorer.format(VARIED_PAIRS)] == [i.token_ids for i in inputs]
        got = scorer.score(VARIED_PAIRS)
    finally:
        scorer.close()
    assert got == pytest.approx(expected, abs=1e-4)


def test_vllm_server_matches_transformers(tiny_reward, vllm_reward_server, transformers_scores):
    _, expected = transformers_scores
    with HttpScorer(vllm_reward_server, str(tiny_reward), max_tokens=BUDGET, batch_size=10) as scorer:
        assert scorer.served_model_name == "tiny-reward"
        got = scorer.score(VARIED_PAIRS)
    assert got == pytest.approx(expected, abs=1e-4)
