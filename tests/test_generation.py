"""Generation backends on the tiny policy: transformers, offline vLLM, and a real vLLM server."""

import http.server
import json
import threading
from typing import ClassVar

import pytest

from engine.errors import CodescalerError
from engine.generation.base import SamplingOptions, cut_at_stop, load_generator
from engine.generation.openai_backend import OpenAICompletionsGenerator
from engine.generation.transformers_backend import TransformersGenerator
from tests.conftest import free_port, requires_vllm

PROMPT = "<|fim_prefix|>def add(a, b):\n    return <|fim_suffix|>\n<|fim_middle|>"


@pytest.fixture(scope="module")
def hf(tiny_models):
    return TransformersGenerator.from_pretrained(str(tiny_models["policy"]))


def test_n_samples_with_logprobs_from_one_call(hf):
    samples = hf.generate(PROMPT, SamplingOptions(n=5, max_new_tokens=12, seed=3))
    assert len(samples) == 5
    assert len({s.text for s in samples}) > 1  # sampled, not copies
    for sample in samples:
        assert 0 < len(sample.logprobs) <= 12
        assert all(lp <= 0 for lp in sample.logprobs)
        assert sample.finish_reason in ("stop", "length")


def test_the_prompt_is_encoded_once_and_samples_equal_plain_generate(hf):
    """The N rows share one encoding of the prompt (batch 1), then decode one token at a time together;
    what they draw is what `generate(num_return_sequences=N)` draws with the same seed."""
    import torch

    calls = []
    hook = hf.model.register_forward_pre_hook(
        lambda module, args, kwargs: calls.append(tuple(kwargs["input_ids"].shape)), with_kwargs=True
    )
    try:
        samples = hf.generate(PROMPT, SamplingOptions(n=4, max_new_tokens=6, seed=11))
    finally:
        hook.remove()
    length = len(hf.tokenizer(PROMPT)["input_ids"])
    assert calls[0] == (1, length - 1) and all(shape == (4, 1) for shape in calls[1:])
    with torch.random.fork_rng(), torch.inference_mode():
        torch.manual_seed(11)
        plain = hf.model.generate(
            **hf.tokenizer(PROMPT, return_tensors="pt"), do_sample=True, temperature=0.8, top_p=0.95,
            max_new_tokens=6, num_return_sequences=4, pad_token_id=hf.pad_token_id,
            eos_token_id=[hf.tokenizer.eos_token_id],
        )  # fmt: skip
    texts = [
        hf._sample(row[length:].tolist(), [0.0] * 6, {hf.tokenizer.eos_token_id}, []).text for row in plain
    ]
    assert [sample.text for sample in samples] == texts


def test_seed_makes_sampling_reproducible_without_touching_global_rng(hf):
    import torch

    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    first = hf.generate(PROMPT, SamplingOptions(n=3, max_new_tokens=8, seed=7))
    assert torch.rand(1) == expected_next  # the caller's random stream is unchanged
    second = hf.generate(PROMPT, SamplingOptions(n=3, max_new_tokens=8, seed=7))
    assert [s.text for s in first] == [s.text for s in second]


def test_greedy_samples_are_identical(hf):
    samples = hf.generate(PROMPT, SamplingOptions(n=3, max_new_tokens=8, temperature=0))
    assert len({s.text for s in samples}) == 1


def test_stop_strings_end_the_text_before_them(hf):
    free = hf.generate(PROMPT, SamplingOptions(n=1, max_new_tokens=24, temperature=0))[0]
    assert len(free.text) > 4
    stop = free.text[2:4]
    stopped = hf.generate(PROMPT, SamplingOptions(n=1, max_new_tokens=24, temperature=0, stop=(stop,)))[0]
    assert stopped.text == free.text[: free.text.find(stop)]
    assert stopped.finish_reason == "stop"
    assert len(stopped.logprobs) <= len(free.logprobs)


def test_cut_at_stop_takes_the_earliest():
    assert cut_at_stop("abc\ndef}", ["}", "\n"]) == ("abc", True)
    assert cut_at_stop("abc", ["x"]) == ("abc", False)


def test_reward_model_is_refused_as_a_policy(tiny_reward):
    with pytest.raises(CodescalerError, match="not a causal language model"):
        TransformersGenerator.from_pretrained(str(tiny_reward))


def test_unknown_backend_and_missing_url():
    with pytest.raises(CodescalerError, match="unknown generation backend"):
        load_generator("x", "onnx")
    with pytest.raises(CodescalerError, match="needs the server's URL"):
        load_generator("x", "openai")


@requires_vllm
def test_offline_vllm_greedy_matches_transformers(tiny_models, hf):
    from engine.generation.vllm_backend import VllmGenerator

    generator = VllmGenerator(str(tiny_models["policy"]), max_model_len=512, kv_cache_memory_bytes=64 << 20)
    try:
        options = SamplingOptions(n=2, max_new_tokens=10, temperature=0)
        got = generator.generate(PROMPT, options)
        sampled = generator.generate(PROMPT, SamplingOptions(n=4, max_new_tokens=10, seed=1))
    finally:
        generator.close()
    expected = hf.generate(PROMPT, options)[0]
    assert [s.text for s in got] == [expected.text] * 2
    assert got[0].logprobs == pytest.approx(expected.logprobs, abs=1e-3)
    assert len(sampled) == 4 and all(len(s.logprobs) == 10 for s in sampled)


@requires_vllm
def test_openai_server_samples_n_with_logprobs(tiny_models, vllm_policy_server, hf):
    with OpenAICompletionsGenerator(vllm_policy_server, str(tiny_models["policy"])) as generator:
        assert generator.served_model_name == "tiny-policy"
        samples = generator.generate(PROMPT, SamplingOptions(n=4, max_new_tokens=10, seed=1))
        greedy = generator.generate(PROMPT, SamplingOptions(n=1, max_new_tokens=10, temperature=0))
    assert len(samples) == 4 and all(len(s.logprobs) == 10 and s.finish_reason == "length" for s in samples)
    assert (
        greedy[0].text == hf.generate(PROMPT, SamplingOptions(n=1, max_new_tokens=10, temperature=0))[0].text
    )


@requires_vllm
def test_openai_errors_are_clear(tiny_models, vllm_policy_server):
    with pytest.raises(CodescalerError, match="cannot reach the completion server"):
        OpenAICompletionsGenerator(f"http://127.0.0.1:{free_port()}", str(tiny_models["policy"]), retries=0)
    generator = OpenAICompletionsGenerator(
        vllm_policy_server, str(tiny_models["policy"]), served_model_name="nope"
    )
    with pytest.raises(CodescalerError, match=r"answered 404: .*nope"):
        generator.generate(PROMPT, SamplingOptions(n=1, max_new_tokens=2))


def test_graph_sampler_matches_generate_and_is_seeded(tiny_models, hf):
    import torch

    from engine.generation.graph_sampler import GraphSampler

    sampler = GraphSampler(hf.model, max_cache_len=256, compile=False)
    ids = hf.tokenizer(PROMPT)["input_ids"]
    near_greedy, _ = sampler.sample(ids, 3, 10, temperature=1e-4, top_p=1.0, seed=0)
    with torch.inference_mode():
        greedy = hf.model.generate(torch.tensor([ids]), do_sample=False, max_new_tokens=10, min_new_tokens=10,
                                   pad_token_id=0)  # fmt: skip
    assert near_greedy.tolist() == [greedy[0, len(ids) :].tolist()] * 3
    first, logprobs = sampler.sample(ids, 3, 10, temperature=0.9, top_p=0.9, seed=4)
    again, _ = sampler.sample(ids, 3, 10, temperature=0.9, top_p=0.9, seed=4)
    assert first.tolist() == again.tolist() and len({tuple(row) for row in first.tolist()}) > 1
    with torch.inference_mode():  # the reported log-probabilities are the model's own, unwarped
        full = hf.model(torch.tensor([ids + first[0].tolist()])).logits[0, len(ids) - 1 : -1].log_softmax(-1)
    assert torch.allclose(full.gather(-1, first[0][:, None]).squeeze(-1), logprobs[0], atol=1e-4)
    with pytest.raises(ValueError, match="draws 3 samples"):
        sampler.sample(ids, 2, 4)


def test_generator_with_graph_decode_cuts_and_cancels(tiny_models):
    import threading

    from engine.generation.base import Cancelled

    generator = TransformersGenerator.from_pretrained(str(tiny_models["policy"]))
    graph = TransformersGenerator(generator.model, generator.tokenizer, graph_decode=True, max_cache_len=256)
    assert graph.warm_up(4) and not generator.warm_up(4)  # only graph decode has work to do ahead
    samples = graph.generate(PROMPT, SamplingOptions(n=4, max_new_tokens=12, seed=2))
    assert len(samples) == 4 and all(0 < len(s.logprobs) <= 12 for s in samples)
    assert len(graph.generate(PROMPT, SamplingOptions(n=2, max_new_tokens=5, seed=2))) == 2  # any N, any time
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        graph.generate(PROMPT, SamplingOptions(n=4, max_new_tokens=12), cancel)


def test_draw_keeps_to_the_top_k_nucleus_with_its_probabilities():
    import torch

    from engine.generation.graph_sampler import draw_top_p

    torch.manual_seed(0)
    logits = torch.tensor([3.0, 2.5, 2.0, 1.0, 0.5, 0.0, -1.0, -2.0]).log_softmax(-1)
    draws = 40_000
    noise = torch.rand(draws, 4)  # k = 4
    rows = logits.expand(draws, -1)
    counts = torch.bincount(draw_top_p(rows, 1.0, 1.0, noise), minlength=8) / draws
    expected = torch.cat([logits[:4].softmax(-1), torch.zeros(4)])
    assert torch.allclose(counts, expected, atol=0.01)
    nucleus = torch.bincount(draw_top_p(rows, 1.0, 0.6, noise), minlength=8) / draws
    assert nucleus[2:].sum() == 0 and nucleus[0] > nucleus[1] > 0  # 3.0 and 2.5 hold over 60%
    cold = draw_top_p(rows, torch.tensor(1e-3), torch.tensor(1.0), noise)
    assert cold.eq(0).all()


def test_graph_sampler_stops_once_every_row_has_stopped(hf):
    from engine.generation.graph_sampler import GraphSampler

    sampler = GraphSampler(hf.model, max_cache_len=256, compile=False)
    ids = hf.tokenizer(PROMPT)["input_ids"]
    greedy, _ = sampler.sample(ids, 2, 12, temperature=1e-4, top_p=1.0, seed=0)
    assert greedy.shape == (2, 12)
    stop = greedy[0, 4].item()  # the greedy rows reach it at step 4 (or earlier)
    first = greedy[0].tolist().index(stop)
    cut, logprobs = sampler.sample(ids, 2, 12, temperature=1e-4, top_p=1.0, seed=0, stop_ids=[stop],
                                   check_every=2)  # fmt: skip
    assert cut.shape == logprobs.shape == (2, first + 1 + (first + 1) % 2)  # the next check after it
    assert cut.tolist() == greedy[:, : cut.shape[1]].tolist()
    never, _ = sampler.sample(ids, 2, 12, temperature=1e-4, top_p=1.0, seed=0, stop_ids=[-5], check_every=2)
    assert never.shape == (2, 12)


def test_compiled_decode_step_equals_eager_and_keeps_one_graph(hf):
    """The compiled step (Inductor here on CPU; CUDA graphs on a GPU) must trace the in-graph draw and
    not recompile when a request brings another temperature or top-p."""
    import torch
    from torch._dynamo.utils import counters

    from engine.generation.graph_sampler import GraphSampler

    ids = hf.tokenizer(PROMPT)["input_ids"]
    eager = GraphSampler(hf.model, max_cache_len=64, compile=False)
    compiled = GraphSampler(hf.model, max_cache_len=64, compile=True)
    for seed, temperature, top_p in ((3, 0.9, 0.9), (5, 0.6, 0.8)):
        want = eager.sample(ids, 4, 10, temperature, top_p, seed=seed)
        got = compiled.sample(ids, 4, 10, temperature, top_p, seed=seed)
        assert torch.equal(got[0], want[0]) and torch.allclose(got[1], want[1], atol=1e-5)
        if seed == 3:
            frames = counters["frames"]["ok"]
    assert counters["frames"]["ok"] == frames


def test_graph_sampler_refuses_sliding_window_models_in_one_line():
    from transformers import Qwen3Config, Qwen3ForCausalLM

    from engine.errors import CodescalerError
    from engine.generation.graph_sampler import GraphSampler

    config = Qwen3Config(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, head_dim=16, use_sliding_window=True,
                         sliding_window=8, max_window_layers=1)  # fmt: skip
    with pytest.raises(CodescalerError, match="sliding-window layers: turn graph_decode off"):
        GraphSampler(Qwen3ForCausalLM(config), max_cache_len=32, compile=False)


def test_graph_decode_ends_early_once_every_row_drew_a_text_stop(tiny_models):
    """Single-line mode stops at "\\n", a text stop: the tokens that contain it end a row, so decoding
    stops at the next check instead of running to max_new_tokens."""
    generator = TransformersGenerator.from_pretrained(str(tiny_models["policy"]))
    graph = TransformersGenerator(generator.model, generator.tokenizer, graph_decode=True, max_cache_len=256)
    tokenizer = graph.tokenizer
    newline = graph._tokens_containing(["\n"])
    assert tokenizer("\n")["input_ids"][0] in newline and len(newline) < len(tokenizer) / 4
    assert all("\n" in tokenizer.decode([i]) for i in newline)
    assert not graph._tokens_containing(["<|"]) & set(tokenizer.all_special_ids)  # special tokens are no text
    sampler = graph._sampler(4)
    shapes = []
    real_sample = sampler.sample

    def spy(*args, **kwargs):
        tokens, logprobs = real_sample(*args, **kwargs)
        shapes.append(tokens.shape)
        return tokens, logprobs

    sampler.sample = spy
    common = tuple("etaoinsr ")  # nearly every token holds one of these: every row stops at once
    samples = graph.generate(PROMPT, SamplingOptions(n=4, max_new_tokens=40, seed=1, stop=common))
    assert shapes[0][1] == 8  # the first check, after 8 steps
    assert all(not any(stop in sample.text for stop in common) for sample in samples)
    graph.generate(PROMPT, SamplingOptions(n=4, max_new_tokens=40, seed=1))
    assert shapes[-1][1] > 8  # no stop text: decoding ran on (EOS aside)


class _LocalServer(http.server.BaseHTTPRequestHandler):
    """The slice of the OpenAI-compatible API of Ollama and llama.cpp's server that the openai backend uses
    (neither runs here). Like Ollama it lists every model it has; like llama.cpp's server with
    `one_choice`, it answers one choice whatever `n` asks. It records the bodies it was sent."""

    models: tuple[str, ...] = ()
    one_choice = False
    bodies: ClassVar[list[dict]] = []

    def do_GET(self) -> None:
        self._answer({"object": "list", "data": [{"id": name, "object": "model"} for name in self.models]})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.bodies.append(body)
        if body["model"] not in self.models:
            self._answer({"error": {"message": f"model {body['model']!r} not found"}}, 404)
            return
        text = f"seed {body.get('seed')} from {body['model']}"
        count = 1 if self.one_choice else body["n"]
        self._answer({"choices": [{"index": i, "text": text, "finish_reason": "stop", "logprobs": None}
                                  for i in range(count)]})  # fmt: skip

    def _answer(self, payload: dict, status: int = 200) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def local_server():
    """Start one: `local_server(models, one_choice)` -> (url, the bodies it receives)."""
    servers = []

    def start(models: tuple[str, ...], one_choice: bool = False) -> tuple[str, list[dict]]:
        handler = type("Handler", (_LocalServer,), {"models": models, "one_choice": one_choice, "bodies": []})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}", handler.bodies

    yield start
    for server in servers:
        server.shutdown()


def test_a_server_with_several_models_needs_the_served_name(tiny_models, local_server):
    url, bodies = local_server(("qwen2.5-coder:1.5b-base", "llama3.2:latest"))
    with pytest.raises(CodescalerError, match=r"serves 2 models .*with --policy-served-name"):
        load_generator(str(tiny_models["policy"]), "openai", url=url)
    with load_generator(
        str(tiny_models["policy"]), "openai", url=url, served_name="llama3.2:latest"
    ) as generator:
        samples = generator.generate(PROMPT, SamplingOptions(n=2, max_new_tokens=8))
    assert [sample.text for sample in samples] == ["seed None from llama3.2:latest"] * 2
    assert [body["model"] for body in bodies] == ["llama3.2:latest"]


def test_a_server_that_answers_one_choice_is_asked_for_the_rest(tiny_models, local_server):
    url, bodies = local_server(("qwen2.5-coder-1.5b-q8_0.gguf",), one_choice=True)
    with load_generator(str(tiny_models["policy"]), "openai", url=url) as generator:
        first = generator.generate(PROMPT, SamplingOptions(n=3, max_new_tokens=8, seed=7))
        second = generator.generate(PROMPT, SamplingOptions(n=2, max_new_tokens=8))
    expected = [f"seed {seed} from qwen2.5-coder-1.5b-q8_0.gguf" for seed in (7, 8, 9)]
    assert [sample.text for sample in first] == expected
    asked = sorted((body["n"], body.get("seed")) for body in bodies[:3])
    assert asked == [(1, 8), (1, 9), (3, 7)]  # the rest asked for one by one, each a distinct draw
    assert len(second) == 2 and [body["n"] for body in bodies[3:]] == [1, 1]  # one at a time from then on
