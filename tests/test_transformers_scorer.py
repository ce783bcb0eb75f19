import json
import shutil

import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from engine.errors import CodescalerError
from engine.reward.scorer import load_scorer
from engine.reward.transformers_backend import TransformersScorer, length_sorted_batches

PAIRS = [
    ("Add two numbers.", "def add(a, b):\n    return a + b"),
    ("Reverse a string.", "def rev(s):\n    return s[::-1]"),
    ("Écrivez une fonction — 日本語 😀", 'fn main() { println!("😀"); }'),
    ("Sum a list " * 30, "int sum(std::vector<int> v) { int s = 0; for (int x : v) s += x; return s; }"),
    ("Empty answer", ""),
    ("Return None.", "def f():\n    return None<|endoftext|>"),
]


@pytest.fixture(scope="module")
def scorer(tiny_reward):
    return TransformersScorer.from_pretrained(str(tiny_reward), max_tokens=512, max_batch_tokens=256)


def reference_scores(folder, token_ids):
    """Each sequence alone, unpadded, through the plain transformers model."""
    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    with torch.inference_mode():
        return [model(input_ids=torch.tensor([ids])).logits[0, 0].item() for ids in token_ids]


def test_batched_scores_equal_unpadded_single_sequence_scores(scorer, tiny_reward):
    assert scorer.causal  # Qwen3 takes the mask-free right-padding path
    inputs = scorer.format(PAIRS)
    assert len({len(i.token_ids) for i in inputs}) == len(PAIRS)  # genuinely different lengths
    assert len(list(length_sorted_batches([len(i.token_ids) for i in inputs], 256))) > 1
    got = scorer.score_inputs(inputs)
    expected = reference_scores(tiny_reward, [i.token_ids for i in inputs])
    assert got == pytest.approx(expected, abs=1e-5)
    assert len(set(round(x, 4) for x in got)) == len(got)  # the model separates them


def test_scores_do_not_depend_on_the_tokenizers_padding_side(scorer, tiny_reward, tmp_path):
    folder = tmp_path / "left"
    shutil.copytree(tiny_reward, folder)
    config_path = folder / "tokenizer_config.json"
    config = json.loads(config_path.read_text())
    config["padding_side"] = "left"
    config_path.write_text(json.dumps(config))
    left = TransformersScorer.from_pretrained(str(folder), max_tokens=512, max_batch_tokens=256)
    assert left.formatter.tokenizer.padding_side == "left"
    assert left.score(PAIRS) == pytest.approx(scorer.score(PAIRS), abs=1e-5)


def test_trailing_eos_equal_to_pad_is_pooled_like_transformers(tiny_reward, tmp_path):
    folder = tmp_path / "eos-template"
    shutil.copytree(tiny_reward, folder)
    template = folder / "chat_template.jinja"
    template.write_text(template.read_text() + "{{ eos_token }}")
    scorer = TransformersScorer.from_pretrained(str(folder), max_tokens=512)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    question, code = PAIRS[0]
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": question}, {"role": "assistant", "content": code}], tokenize=False
    )
    raw_ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert raw_ids[-1] == tokenizer.eos_token_id == tokenizer.pad_token_id
    # transformers pools the last non-pad token of the raw ids; the scorer must give that number.
    assert scorer.score([(question, code)])[0] == pytest.approx(
        reference_scores(folder, [raw_ids])[0], abs=1e-5
    )


def test_encoder_classifiers_get_an_attention_mask(tiny_reward, tmp_path):
    from transformers import BertConfig, BertForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(tiny_reward)
    config = BertConfig(
        vocab_size=len(tokenizer), hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=128, num_labels=1, pad_token_id=tokenizer.pad_token_id,
    )  # fmt: skip
    torch.manual_seed(0)
    folder = tmp_path / "bert"
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    scorer = TransformersScorer.from_pretrained(str(folder), max_tokens=512, max_batch_tokens=4096)
    assert not scorer.causal
    inputs = scorer.format(PAIRS[:4])
    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    with torch.inference_mode():
        expected = [model(input_ids=torch.tensor([i.token_ids])).logits[0, 0].item() for i in inputs]
    assert scorer.score_inputs(inputs) == pytest.approx(expected, abs=1e-5)


def test_length_sorted_batches_cover_every_input_once_within_budget():
    lengths = [5, 300, 40, 41, 7, 120, 120, 3]
    batches = list(length_sorted_batches(lengths, 256))
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for batch in batches:
        widths = [lengths[i] for i in batch]
        assert widths == sorted(widths, reverse=True)
        assert len(batch) == 1 or len(batch) * widths[0] <= 256


def test_empty_input_gives_empty_scores(scorer):
    assert scorer.score([]) == []


def test_load_scorer_builds_the_transformers_backend(tiny_reward):
    with load_scorer(str(tiny_reward), "transformers", max_tokens=256) as scorer:
        assert isinstance(scorer, TransformersScorer)
        assert scorer.formatter.max_tokens == 256
        assert scorer.model.dtype == torch.float32 and scorer.device == "cpu"


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(CodescalerError, match="does not exist"):
        TransformersScorer.from_pretrained(str(tmp_path / "nope"))


def test_folder_without_config_is_a_clear_error(tmp_path):
    with pytest.raises(CodescalerError, match="not a model folder"):
        TransformersScorer.from_pretrained(str(tmp_path))


def test_causal_lm_is_refused_instead_of_given_a_random_head(tiny_models):
    with pytest.raises(CodescalerError, match="Qwen3ForCausalLM, not a sequence-classification reward model"):
        TransformersScorer.from_pretrained(str(tiny_models["policy"]))


def test_multi_label_classifier_is_refused(tiny_reward, tmp_path):
    folder = tmp_path / "two-labels"
    shutil.copytree(tiny_reward, folder)
    config = json.loads((folder / "config.json").read_text())
    config["id2label"] = {"0": "A", "1": "B"}
    config["label2id"] = {"A": 0, "B": 1}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CodescalerError, match="num_labels=2"):
        TransformersScorer.from_pretrained(str(folder))


def test_unknown_backend_is_an_error(tiny_reward):
    with pytest.raises(CodescalerError, match="unknown scoring backend"):
        load_scorer(str(tiny_reward), "onnx")  # type: ignore[arg-type]


def test_shared_prefix_is_encoded_once_with_the_same_scores(tiny_reward):
    from engine.reward.transformers_backend import shared_prefix_length

    shared = TransformersScorer.from_pretrained(str(tiny_reward), max_batch_tokens=64)
    plain = TransformersScorer.from_pretrained(str(tiny_reward), share_prefix=False)
    question = "Write a function that adds two numbers and explain nothing. " * 3
    codes = [
        "def add(a, b):\n    return a + b",
        "def add(a, b):\n    return b + a  # 😀",
        "def add(a, b): pass",
        "x",
    ]
    inputs = shared.format([(question, code) for code in codes])
    ids = [item.token_ids for item in inputs]
    assert shared_prefix_length(ids) >= 16
    calls = []
    hook = shared.model.base_model.register_forward_pre_hook(
        lambda module, args, kwargs: calls.append(tuple((args[0] if args else kwargs["input_ids"]).shape)),
        with_kwargs=True,
    )
    got = shared.score_token_ids(ids)
    hook.remove()
    assert calls[0] == (1, shared_prefix_length(ids))  # the prefix, once
    assert all(shape[1] < len(ids[0]) for shape in calls[1:])  # then only tails
    assert got == pytest.approx(plain.score_token_ids(ids), abs=1e-5)


def test_shared_prefix_length_leaves_every_sequence_a_token():
    from engine.reward.transformers_backend import shared_prefix_length

    assert shared_prefix_length([[1, 2, 3], [1, 2, 3]]) == 2
    assert shared_prefix_length([[1, 2, 3], [1, 5, 3]]) == 1
    assert shared_prefix_length([[7], [7, 8]]) == 0
    assert shared_prefix_length([]) == 0
