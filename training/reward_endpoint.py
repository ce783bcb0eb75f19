"""Rewards for other RL frameworks: an HTTP endpoint in OpenRLHF's `--remote_rm_url` shape, and a verl
reward function. Both compute the same reward as `codescaler train-policy` (`CodeReward`): reference
extraction, validity gate, reward model, softplus. This is how multi-node RL runs reuse one engine.

OpenRLHF posts `{"query": [prompt + response, ...], "prompts": [prompt, ...], "labels": [...]}` to
`/get_reward` and reads `{"rewards": [...]}` (newer versions also `scores` and `extra_logs`). The response
is the query with its prompt removed; the question the reward model reads is the label when the labels
are strings (set OpenRLHF's `--label_key` to the problem column), else the prompt.
"""

from __future__ import annotations

import hmac
import json
import logging
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from engine.errors import CodescalerError
from engine.serve.server import require_token_off_loopback
from training.rl_reward import CodeReward

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 64 << 20


def openrlhf_rewards(reward: CodeReward, body: Any) -> dict[str, Any]:
    """The answer to one OpenRLHF request body; `CodescalerError` for a malformed one."""
    if not isinstance(body, dict) or not isinstance(body.get("query"), list):
        raise CodescalerError("the body must be a JSON object with 'query' (a list of strings)")
    queries = body["query"]
    prompts = body.get("prompts") or [""] * len(queries)
    labels = body.get("labels") or [None] * len(queries)
    if not (len(prompts) == len(labels) == len(queries)):
        raise CodescalerError("'query', 'prompts' and 'labels' must have the same length")
    if not all(isinstance(x, str) for x in [*queries, *prompts]):
        raise CodescalerError("'query' and 'prompts' must hold strings")
    responses = [q[len(p) :] if q.startswith(p) else q for q, p in zip(queries, prompts, strict=True)]
    questions = [label if isinstance(label, str) else p for label, p in zip(labels, prompts, strict=True)]
    rewards = reward.rewards(questions, responses)
    valid = [float(r > 0) for r in rewards]  # softplus shaping: positive exactly for valid code
    return {"rewards": rewards, "scores": rewards, "extra_logs": {"valid": valid}}


def make_server(reward: CodeReward, host: str, port: int, token: str | None) -> ThreadingHTTPServer:
    """A threaded HTTP server answering POST /get_reward (and GET /health)."""
    require_token_off_loopback(host, token)

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.split("?")[0] == "/health":
                self._send(HTTPStatus.OK, {"status": "ok"})
            else:
                self._send(HTTPStatus.NOT_FOUND, {"error": "POST /get_reward"})

        def do_POST(self) -> None:
            if token and not hmac.compare_digest(
                self.headers.get("Authorization", "").encode(), f"Bearer {token}".encode()
            ):
                self._send(HTTPStatus.UNAUTHORIZED, {"error": "missing or wrong token"})
                return
            if self.path.split("?")[0] != "/get_reward":
                self._send(HTTPStatus.NOT_FOUND, {"error": "POST /get_reward"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                self._send(
                    HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": f"body over {MAX_BODY_BYTES} bytes"}
                )
                return
            try:
                body = json.loads(self.rfile.read(length) or b"null")
                self._send(HTTPStatus.OK, openrlhf_rewards(reward, body))
            except (ValueError, CodescalerError) as exc:
                self._send(HTTPStatus.BAD_REQUEST, {"error": str(exc)})

        def log_message(self, format: str, *args: Any) -> None:
            log.info("%s " + format, self.address_string(), *args)

    return ThreadingHTTPServer((host, port), Handler)
