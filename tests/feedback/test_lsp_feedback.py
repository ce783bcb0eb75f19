"""Acceptance records from a real editor session: a pytest-lsp client drives `codescaler lsp` with the tiny
models (tests/feedback/session_script.py), and the records, `feedback stats --json`, `feedback pairs` and
`feedback threshold` must say exactly what the session did — on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from engine.document import Completion, DocumentContext
from engine.editor_reward_input import editor_reward_pair
from engine.feedback.store import Store
from tests.feedback.conftest import KINDS, fresh_database
from tests.feedback.session_script import Session, play
from tests.lsp.conftest import CODESCALER, SERVER_ENV, editor_settings

pytestmark = pytest.mark.asyncio(loop_scope="function")


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[CODESCALER, "lsp"], server_env=SERVER_ENV), params=KINDS
)
async def client(request, lsp_client: LanguageClient, tiny_models, tmp_path):
    database = fresh_database(request, request.param, tmp_path)
    settings = editor_settings(tiny_models, n=8, debounce_ms=0)
    settings["feedback"] = {"db": database.url or str(database.path), "store_text": True}
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"), initialization_options=settings
        )
    )
    lsp_client.database = database
    yield
    await lsp_client.shutdown_session()


async def written(client: LanguageClient) -> None:
    """Until the server's recorder has written everything queued (records go to the database off the
    request path)."""
    for _ in range(200):
        stats = await client.protocol.send_request_async("codescaler/stats", None)
        feedback = stats.feedback
        if feedback.pending == 0:
            assert feedback.failed == 0 and feedback.dropped == 0 and feedback.problem is None
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the feedback records were not written")


def cli(*args: str) -> str:
    done = subprocess.run(
        [CODESCALER, "feedback", *args], capture_output=True, text=True, env=SERVER_ENV, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def db_flag(client) -> list[str]:
    database = client.database
    return ["--db", database.url or str(database.path)]


def top_reward(shown) -> float:
    return max(item["reward"] for item in shown.items)


async def test_records_stats_pairs_and_threshold_match_the_session(client: LanguageClient, tmp_path: Path):
    expected = await play(Session(client))
    await written(client)
    store = Store(client.database, create=False)
    records = store.requests()
    store.close()

    # Every request is recorded, in order, with what the editor got and what became of it.
    assert len(records) == expected.requests
    answered = [r for r in records if r.items]
    assert [r.id for r in answered] == [s.request for s in expected.answered]
    assert sum(r.outcome == "superseded" for r in records) == expected.superseded
    for record, shown in zip(answered, expected.answered, strict=True):
        assert (record.feature, record.outcome) == (shown.feature, shown.outcome)
        assert (record.accepted_rank, record.accepted_chars) == (shown.accepted_rank, shown.accepted_chars)
        assert [(i.rank, i.text, i.reward) for i in record.items] == [
            (i["rank"], i["text"], i["reward"]) for i in shown.items
        ]
        assert {i.rank for i in record.items if i.shown} == shown.shown_ranks
        assert (record.document, record.cursor, record.language) == (shown.text, shown.offset, "python")
        assert record.total_ms is not None and record.path_hash and record.policy

    # stats --json
    stats = json.loads(cli("stats", *db_flag(client), "--json"))
    decided = [s for s in expected.answered if s.outcome != "open"]
    taken = [s for s in decided if s.outcome in ("accepted", "partial")]
    assert stats["requests"] == expected.requests
    assert stats["shown"] == len(expected.answered)
    assert stats["accepted"] == len(taken)
    assert stats["no_outcome"] == len(expected.answered) - len(decided)
    assert stats["acceptance_rate"] == round(len(taken) / len(decided), 4)
    low, high = stats["acceptance_interval"]
    assert low < stats["acceptance_rate"] < high
    lengths = {(s.request, i["rank"]): len(i["text"]) for s in taken for i in s.items}
    assert stats["accepted_chars"] == sum(
        min(s.accepted_chars, lengths[(s.request, s.accepted_rank)]) for s in taken
    )
    buckets = stats["by_reward"]
    assert sum(b["shown"] for b in buckets) == len(decided) and sum(b["accepted"] for b in buckets) == len(
        taken
    )
    ordered = sorted(decided, key=lambda s: (top_reward(s), s in taken))  # quantile buckets, lowest first
    for bucket in buckets:
        inside, ordered = ordered[: bucket["shown"]], ordered[bucket["shown"] :]
        assert (bucket["low"], bucket["high"]) == (
            round(top_reward(inside[0]), 4),
            round(top_reward(inside[-1]), 4),
        )
        assert bucket["accepted"] == sum(s in taken for s in inside)

    # pairs: accepted (or mostly taken) over every other item shown with it, in the reward model's input.
    out = tmp_path / "pairs.jsonl"
    cli("pairs", *db_flag(client), "--out", str(out))
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    wanted = set()
    for shown in taken:
        chosen_item = next(i for i in shown.items if i["rank"] == shown.accepted_rank)
        text = (
            chosen_item["text"]
            if shown.outcome == "accepted"
            else chosen_item["text"][: shown.accepted_chars]
        )
        if shown.outcome == "partial" and shown.accepted_chars < 0.5 * len(chosen_item["text"]):
            continue
        context = DocumentContext(
            shown.text, shown.offset, "python", "/tmp/codescaler-feedback/" + shown.uri.rsplit("/", 1)[1]
        )
        question, chosen = editor_reward_pair(context, Completion(text))
        for other in shown.items:
            if other is chosen_item or (shown.outcome == "partial" and other["text"].startswith(text)):
                continue
            _, rejected = editor_reward_pair(context, Completion(other["text"]))
            if rejected != chosen:
                wanted.add((shown.request, question, chosen, rejected))
    assert {(r["request"], r["question"], r["chosen"], r["rejected"]) for r in rows} == wanted
    assert len(rows) == len(wanted) > 0 and all(r["kind"] == "feedback" for r in rows)

    # threshold: the best candidate, replayed here from the client's side.
    result = json.loads(cli("threshold", *db_flag(client), "--json"))
    dismissed = [s for s in decided if s.outcome == "dismissed"]
    chars = {s.request: min(s.accepted_chars, lengths[(s.request, s.accepted_rank)]) for s in taken}

    def score(threshold):
        kept = [s for s in decided if threshold is None or top_reward(s) >= threshold]
        removed = len(dismissed) - sum(s in dismissed for s in kept)
        lost = sum(chars.values()) - sum(chars.get(s.request, 0) for s in kept)
        return removed / len(dismissed) - lost / sum(chars.values())

    options = [None, *sorted({top_reward(s) for s in decided})]
    best = max(options, key=score)
    assert result["best"]["score"] == round(score(best), 4)
    assert result["best"]["threshold"] == (None if best is None else round(best, 4))
    table = cli("threshold", *db_flag(client))
    assert "<- best" in table and ("threshold = " in table or "keep completion.threshold unset" in table)
