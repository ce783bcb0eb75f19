"""The default policy's training examples: cut without losing text, FIM in the engine's own format."""

import ast
import random

from engine.devtools.tiny_models import stdlib_files
from engine.prompts.fim import FIM_TEMPLATES
from training.default_models.corpus import (
    EOS,
    SourceFile,
    docstring_tasks,
    fim_example,
    snippets,
    training_texts,
)

FILES = [SourceFile(path, text) for path, text in stdlib_files(400_000)]


def test_snippets_cover_each_file_exactly_and_respect_the_size():
    for file in FILES:
        parts = list(snippets(file.text, 1200))
        assert "".join(parts) == file.text
        # Only a single line longer than the budget may exceed it.
        assert all(len(p) <= 1200 or "\n" not in p.rstrip("\n") for p in parts)


def test_fim_examples_reassemble_to_the_snippet_in_the_engines_template():
    template = FIM_TEMPLATES["qwen"]
    rng = random.Random(0)
    made = 0
    for file in FILES[:20]:
        for snippet in snippets(file.text, 1200):
            example = fim_example(snippet, rng)
            if example is None:
                continue
            made += 1
            assert example.startswith(template.prefix) and example.endswith(EOS)
            prefix, rest = example[len(template.prefix) :].split(template.suffix, 1)
            suffix, middle = rest.split(template.middle, 1)
            assert prefix + middle[: -len(EOS)] + suffix == snippet
            # The prompt the engine renders for this cursor is exactly the example's start.
            assert example.startswith(template.render(prefix, suffix))
    assert made > 50


def test_docstring_tasks_answer_with_the_function_without_its_docstring():
    tasks = list(docstring_tasks(SourceFile(path, text) for path, text in stdlib_files(3_000_000)))
    assert len(tasks) > 100
    for question, code in tasks:
        function = ast.parse(code).body[0]
        assert isinstance(function, ast.FunctionDef)
        assert f"`{function.name}`" in question
        assert ast.get_docstring(function) is None


def test_training_texts_are_seeded_and_hold_every_kind():
    instructions = [("Add two numbers.", "def add(a, b):\n    return a + b")]

    def prompt(question):
        return f"<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n"

    first = training_texts(FILES[:10], instructions, prompt, seed=3)
    assert first == training_texts(FILES[:10], instructions, prompt, seed=3)
    assert first != training_texts(FILES[:10], instructions, prompt, seed=4)
    assert all(text.endswith(EOS) for text in first)
    assert any(text.startswith("<|fim_prefix|>") for text in first)
    chat = [text for text in first if text.startswith("<|im_start|>user\nAdd two numbers.")]
    assert chat == [
        prompt("Add two numbers.") + "```python\ndef add(a, b):\n    return a + b\n```<|im_end|>\n" + EOS
    ]
