"""The typed requests: one validation in process and on the wire, errors that name the field."""

import msgspec
import pytest

from engine.errors import CodescalerError
from engine.protocol import Candidate, Document, RankOptions, RankRequest, RequestError, ScoreRequest, checked
from engine.serve.protocol import Limits, ProtocolError, encode, read_request
from engine.settings import Settings
from tests.conftest import CODESCALER
from tests.test_cli import one_line_error, run

DOC = Document(text="def f():\n    return \n", line=1, character=11, path="f.py")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"n": 0}, "n must be at least 1, not 0"),
        ({"max_new_tokens": -3}, "max_new_tokens must be at least 1"),
        ({"temperature": -1.0}, "temperature must be within 0..100"),
        ({"temperature": float("inf")}, "temperature must be a finite number"),
        ({"top_p": 0.0}, "top_p must be above 0 and at most 1"),
        ({"top_k": 0}, "top_k must be at least 1"),
        ({"seed": -1}, "seed must be a 64-bit unsigned integer"),
        ({"line_mode": "both"}, "line_mode must be one of auto, single, multi, not 'both'"),
        ({"threshold": float("nan")}, "threshold must be a finite number"),
    ],
)
def test_the_same_ranges_hold_in_process_on_the_wire_and_in_settings(fields, message):
    with pytest.raises(ValueError, match=message):
        RankOptions(**fields)
    wire = {"type": "rank", "id": 1, "problem": "p", **fields}
    if all(v == v and v not in (float("inf"),) for v in fields.values()):  # JSON has no NaN or infinity
        with pytest.raises(ProtocolError, match=message):
            read_request(msgspec.json.encode(wire), Limits())
    with pytest.raises(CodescalerError, match=f"completion.{message}"):
        Settings.from_layers({"completion": fields})


def test_a_request_is_the_same_object_after_the_wire():
    request = RankRequest(id="r1", document=DOC, n=3, seed=2**64 - 1, top_p=0.5, line_mode="single")
    assert read_request(encode(request), Limits()) == request
    score = ScoreRequest(id=7, question="q", candidates=[Candidate(code="x = 1", language="python")])
    assert read_request(encode(score), Limits()) == score
    assert request.document.cursor_context().offset == len("def f():\n    return ")


def test_type_errors_name_the_field_and_strings_are_not_numbers():
    for wire, field in [
        ({"type": "rank", "id": 1, "problem": "p", "n": "8"}, "n: expected `int`, got `str`"),
        ({"type": "rank", "id": 1, "problem": "p", "n": True}, "n: expected `int`, got `bool`"),
        ({"type": "rank", "id": 1, "document": {"text": 5, "offset": 0}}, "document.text: expected `str`"),
        ({"type": "rank", "id": 1, "document": {"text": "x"}}, "document needs 'offset', or 'line' and 'character'"),
        ({"type": "score", "id": 1, "question": "q", "candidates": [{}]}, "candidates[0]: object missing required field `code`"),
    ]:  # fmt: skip
        with pytest.raises(RequestError, match=field.replace("[", r"\[").replace("]", r"\]")):
            checked(wire, RankRequest | ScoreRequest)


def test_a_cursor_outside_the_document_is_a_request_error():
    with pytest.raises(RequestError, match="line 9 is outside the document"):
        Document(text="x", line=8, character=0).cursor_context()


def test_server_limits_come_on_top_of_the_request_rules():
    frame = encode(RankRequest(id="big", problem="p", n=40))
    with pytest.raises(ProtocolError, match="n=40 is over this server's limit of 32") as caught:
        read_request(frame, Limits())
    assert caught.value.request_id == "big"


def test_bad_completion_flags_are_one_line_errors(tmp_path):
    document = tmp_path / "f.py"
    document.write_text("x = \n")
    result = run(CODESCALER, "rank", str(document), "--line", "1", "--col", "5", "--top-p", "2")
    one_line_error(result, "completion.top_p must be above 0 and at most 1, not 2")


def test_repository_context_travels_and_its_share_is_checked():
    from engine.protocol import ContextSnippet

    snippet = ContextSnippet(
        path="pkg/config.py", text="def load_config(path): ...", symbol="load_config", line=3
    )
    sent = RankRequest(
        id="r1", document=Document(text="x = ", offset=4, context=[snippet]), context_share=0.5
    )
    received = read_request(encode(sent), Limits())
    assert received.document.cursor_context().repo == (snippet,) and received.context_share == 0.5
    with pytest.raises(ProtocolError, match=r"context_share must be within 0\.\.0\.9"):
        read_request(b'{"id": 1, "type": "rank", "problem": "p", "context_share": 1}', Limits())
    with pytest.raises(ProtocolError, match="context"):
        read_request(
            b'{"id": 1, "type": "rank", "document": {"text": "", "offset": 0, "context": [{"text": 1}]}}',
            Limits(),
        )
