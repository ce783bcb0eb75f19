"""The reward model's input, built one way for the whole product.

A CodeScaler score means something only for the exact string the model was trained on: the two-turn chat
`[user: question, assistant: code]` rendered with the reward model's own chat template, with no system turn
and no generation prompt, tokenized without adding special tokens again. Serving, training, GRPO rewards
and evaluation all build their inputs here, so a score means the same thing everywhere.

Budget. Inputs longer than `max_tokens` are shortened, question first: its middle is replaced by
`TRUNCATION_MARKER`, keeping its start (the task) and its end (examples, signature). Only when the question
is down to the marker is the code shortened the same way. Nothing is dropped silently: every
`RewardInput` records how many characters of each part were cut.

Fallback. A tokenizer without a chat template gets the ChatML layout
(`<|im_start|>user\\n{question}<|im_end|>\\n<|im_start|>assistant\\n{code}<|im_end|>\\n`) rendered as plain
text, the layout of the Qwen-family models CodeScaler is built on.

Pooling. Sequence-classification models score the last non-pad token. When pad == eos (as in Qwen),
trailing pad tokens are removed from the ids, so every backend pools the same, last real token.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from engine.errors import CodescalerError

DEFAULT_MAX_TOKENS = 4096
TRUNCATION_MARKER = "\n...\n"
CHATML_FALLBACK = "<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n{code}<|im_end|>\n"


@dataclass(frozen=True)
class RewardInput:
    """The token ids the reward model scores, and what the budget cut to get them."""

    token_ids: list[int]
    question_chars_cut: int = 0
    code_chars_cut: int = 0
    tokens_before_cut: int = 0

    @property
    def truncated(self) -> bool:
        return self.question_chars_cut > 0 or self.code_chars_cut > 0


def reward_messages(question: str, code: str) -> list[dict[str, str]]:
    """The conversation the reward model scores: no system turn, the code as the assistant's reply."""
    return [{"role": "user", "content": question}, {"role": "assistant", "content": code}]


def _cut_middle(text: str, chars: int) -> str:
    """`text` with `chars` characters taken out of its middle and the marker put in their place."""
    if chars <= 0:
        return text
    keep = max(len(text) - chars, 0)
    head = keep - keep // 2
    return text[:head] + TRUNCATION_MARKER + text[len(text) - keep // 2 :]


class RewardFormatter:
    """Turns (question, code) pairs into reward-model token ids under a token budget."""

    def __init__(self, tokenizer: Any, max_tokens: int = DEFAULT_MAX_TOKENS, pad_token_id: int | None = None):
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        self.pad_token_id = tokenizer.pad_token_id if pad_token_id is None else pad_token_id
        self.has_chat_template = bool(getattr(tokenizer, "chat_template", None))
        overhead = len(self._encode("", ""))
        if overhead + 2 * len(self._encode_plain(TRUNCATION_MARKER)) >= max_tokens:
            raise CodescalerError(
                f"token budget {max_tokens} is too small: the chat template alone takes {overhead} tokens; "
                "raise --max-tokens"
            )

    def render(self, question: str, code: str) -> str:
        """The exact text the reward model reads for one pair."""
        if not self.has_chat_template:
            return CHATML_FALLBACK.format(question=question, code=code)
        return self.tokenizer.apply_chat_template(
            reward_messages(question, code), tokenize=False, add_generation_prompt=False
        )

    def _encode_plain(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def _encode(self, question: str, code: str) -> list[int]:
        ids = self._encode_plain(self.render(question, code))
        while ids and ids[-1] == self.pad_token_id:
            ids.pop()
        return ids

    def __call__(self, question: str, code: str) -> RewardInput:
        ids = self._encode(question, code)
        if len(ids) <= self.max_tokens:
            return RewardInput(ids, tokens_before_cut=len(ids))
        before = len(ids)
        question_cut = self._cut_needed(question, lambda q: self._encode(q, code))
        short_question = _cut_middle(question, question_cut)
        ids = self._encode(short_question, code)
        code_cut = 0
        if len(ids) > self.max_tokens:
            question_cut, short_question = len(question), TRUNCATION_MARKER
            code_cut = self._cut_needed(code, lambda c: self._encode(short_question, c))
            ids = self._encode(short_question, _cut_middle(code, code_cut))
        return RewardInput(ids, question_cut, code_cut, before)

    def _cut_needed(self, text: str, encode: Any) -> int:
        """Fewest characters (estimated from the text's own characters per token, then refined) to cut
        from `text` for `encode` to meet the budget; `len(text)` when cutting all of it is not enough."""
        chars_per_token = len(text) / max(len(self._encode_plain(text)), 1)
        cut = 0
        length = len(encode(text))
        while length > self.max_tokens and cut < len(text):
            cut = min(len(text), cut + max(1, math.ceil((length - self.max_tokens) * chars_per_token)))
            length = len(encode(_cut_middle(text, cut)))
        return cut
