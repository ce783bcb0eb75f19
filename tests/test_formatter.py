import pytest
from transformers import AutoTokenizer

from engine.errors import CodescalerError
from engine.reward.formatter import TRUNCATION_MARKER, RewardFormatter, reward_messages


@pytest.fixture(scope="module")
def tokenizer(tiny_reward):
    return AutoTokenizer.from_pretrained(tiny_reward)


def decode(tokenizer, ids):
    return tokenizer.decode(ids, skip_special_tokens=False)


def test_input_is_the_two_turn_chat_rendered_by_the_models_own_template(tokenizer):
    question, code = "Add two numbers.", "def add(a, b):\n    return a + b"
    formatter = RewardFormatter(tokenizer)
    expected = tokenizer.apply_chat_template(
        [{"role": "user", "content": question}, {"role": "assistant", "content": code}],
        tokenize=False,
        add_generation_prompt=False,
    )
    assert formatter.render(question, code) == expected
    assert expected == f"<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n{code}<|im_end|>\n"
    item = formatter(question, code)
    assert item.token_ids == tokenizer(expected, add_special_tokens=False)["input_ids"]
    assert not item.truncated
    assert reward_messages(question, code)[0]["role"] == "user"  # no system turn


def test_a_template_that_appends_eos_is_stripped_so_pooling_sees_the_last_real_token(tokenizer):
    tokenizer = AutoTokenizer.from_pretrained(tokenizer.name_or_path)
    tokenizer.chat_template = tokenizer.chat_template + "{{ eos_token }}"
    assert tokenizer.pad_token_id == tokenizer.eos_token_id
    ids = RewardFormatter(tokenizer)("q", "x = 1<|endoftext|>").token_ids
    assert ids[-1] != tokenizer.eos_token_id
    assert decode(tokenizer, ids).endswith("<|im_end|>\n")


def test_tokenizer_without_chat_template_falls_back_to_chatml_text(tokenizer):
    plain = AutoTokenizer.from_pretrained(tokenizer.name_or_path)
    plain.chat_template = None
    formatter = RewardFormatter(plain)
    assert not formatter.has_chat_template
    assert formatter.render("q", "c") == "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\nc<|im_end|>\n"


def test_long_question_is_cut_in_the_middle_and_code_kept_whole(tokenizer):
    question = "START " + "filler words here " * 400 + " END"
    code = "def solve(x):\n    return x * 2"
    item = RewardFormatter(tokenizer, max_tokens=200)(question, code)
    text = decode(tokenizer, item.token_ids)
    assert len(item.token_ids) <= 200
    assert item.truncated and item.question_chars_cut > 0 and item.code_chars_cut == 0
    assert item.tokens_before_cut > 200
    assert "START" in text and "END" in text and TRUNCATION_MARKER in text
    assert code in text
    # Close to the fewest cuts: the kept question is within a few tokens of the budget.
    assert len(item.token_ids) >= 190


def test_code_is_cut_only_when_the_question_alone_cannot_make_room(tokenizer):
    code = "first_line = 1\n" + "x = 1\n" * 400 + "last_line = 2"
    item = RewardFormatter(tokenizer, max_tokens=120)("a short question", code)
    text = decode(tokenizer, item.token_ids)
    assert len(item.token_ids) <= 120
    assert item.question_chars_cut == len("a short question")
    assert item.code_chars_cut > 0
    assert "first_line" in text and "last_line" in text


def test_input_exactly_at_the_budget_is_untouched(tokenizer):
    question, code = "question text " * 10, "code = 'text'\n" * 5
    full = RewardFormatter(tokenizer)(question, code)
    exact = RewardFormatter(tokenizer, max_tokens=len(full.token_ids))(question, code)
    assert exact.token_ids == full.token_ids and not exact.truncated


def test_non_ascii_question_is_cut_on_character_boundaries(tokenizer):
    question = "日本語の問題 😀 " * 300
    item = RewardFormatter(tokenizer, max_tokens=150)(question, "print('ok')")
    text = decode(tokenizer, item.token_ids)
    assert "\ufffd" not in text
    assert len(item.token_ids) <= 150


def test_budget_smaller_than_the_template_is_a_clear_error(tokenizer):
    with pytest.raises(CodescalerError, match="token budget 5 is too small"):
        RewardFormatter(tokenizer, max_tokens=5)
