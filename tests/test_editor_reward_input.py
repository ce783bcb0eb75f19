from engine.document import Completion, DocumentContext
from engine.editor_reward_input import editor_reward_pair

PYTHON = 'import math\n\n\ndef area(r):\n    """Area of a circle."""\n    return █\n\n\ndef main():\n    print(area(2))\n'


def test_python_code_is_the_enclosing_function_with_the_completion_inserted():
    context = DocumentContext.at_marker(PYTHON, "█", path="geo.py")
    question, code = editor_reward_pair(context, Completion("math.pi * r ** 2"))
    assert code == 'def area(r):\n    """Area of a circle."""\n    return math.pi * r ** 2'
    assert question.startswith("Complete the code in geo.py (language: python).")
    assert "```python\nimport math\n```" in question
    assert "def main():\n    print(area(2))\n```" in question
    assert "def area" not in question  # the unit itself is the code, not the question


def test_brace_language_unit_and_replaced_brackets():
    document = "function twice(x) {\n  return f(█)\n}\n\nconsole.log(twice(2));\n"
    context = DocumentContext.at_marker(document, "█", path="a.js")
    _, code = editor_reward_pair(context, Completion("x) * 2", replace_chars=1))
    assert code == "function twice(x) {\n  return f(x) * 2\n}"


def test_top_level_statement_when_no_function_encloses_the_cursor():
    context = DocumentContext.at_marker("import os\nx = 1\ny = █\nz = 3\n", "█", "python")
    question, code = editor_reward_pair(context, Completion("x + 1"))
    assert code == "y = x + 1"
    assert "x = 1" in question and "z = 3" in question


def test_context_windows_are_bounded():
    document = (
        "".join(f"v{i} = {i}\n" for i in range(500))
        + "w = █\n"
        + "".join(f"u{i} = {i}\n" for i in range(500))
    )
    context = DocumentContext.at_marker(document, "█", "python")
    question, _ = editor_reward_pair(context, Completion("1"), lines_before=10, lines_after=5)
    assert "v499 = 499" in question and "v489" not in question
    assert "u4 = 4" in question and "u5 = 5" not in question


def test_unknown_language_falls_back_to_nearby_lines():
    document = "".join(f"line {i}\n" for i in range(50)) + "last █\n"
    context = DocumentContext.at_marker(document, "█", path="notes.unknown")
    question, code = editor_reward_pair(context, Completion("words"))
    assert code.endswith("last words") and code.startswith("line 30")
    assert "(language: text)" in question


def test_the_incrementally_parsed_tree_gives_the_same_pair():
    from engine.syntax.insertion import ParsedDocument

    context = DocumentContext.at_marker(PYTHON, "█", path="geo.py")
    document = ParsedDocument.parse(context)
    for text in ["math.pi * r ** 2", "r * r  # 😀\n    x = 1", "("]:
        completion = Completion(text)
        tree = document.insert(completion)
        assert tree is document.insert(completion)  # parsed once, reused by the check and the reward input
        assert editor_reward_pair(context, completion, tree=tree) == editor_reward_pair(context, completion)
