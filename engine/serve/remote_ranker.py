"""`BestOfN.complete` answered by a running `codescaler serve`, so evaluations can measure the engine that
editors use (its models, its GPU, its settings) rather than a copy loaded in the evaluating process."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from engine.best_of_n import RankOptions, RankResult
from engine.document import DocumentContext
from engine.http_client import JsonHttpClient
from engine.ranking import RankedItem
from engine.serve.client import EngineClient

# RankOptions fields a rank request carries (docs/engine-protocol.md); `shaping` is the server's choice.
REQUEST_FIELDS = ("n", "max_new_tokens", "temperature", "top_p", "seed", "top_k", "threshold", "line_mode")


def document_fields(context: DocumentContext) -> dict[str, Any]:
    """A cursor as a rank request's `document`."""
    return {
        "text": context.text,
        "offset": context.offset,
        "language": context.language,
        "path": context.path,
    }


def served_models(url: str, token: str | None) -> str:
    """What the engine at `url` says it serves (its `/stats` `models`)."""
    http = JsonHttpClient(url.replace("ws://", "http://", 1), "engine", api_key=token, retries=1)
    refused = f"the engine at {url} refused the connection (401): pass the engine's token (--token)"
    try:
        return str(http.request("GET", "/stats", explain_401=refused).get("models") or "unknown")
    finally:
        http.close()


class RemoteRanker:
    """Rank requests over `client`'s connection (the caller opens and closes it)."""

    def __init__(self, client: EngineClient):
        self.client = client

    def complete(self, context: DocumentContext, options: RankOptions) -> RankResult:
        fields = asdict(options)
        message = {"type": "rank", "document": document_fields(context)}
        message.update({key: fields[key] for key in REQUEST_FIELDS if fields[key] is not None})
        reply = self.client.request(message)
        return RankResult(
            items=[RankedItem(**item) for item in reply["items"]],
            timings=reply["timings"],
            dropped=reply["dropped"],
            generated=reply["generated"],
            line_mode=reply["line_mode"],
        )
