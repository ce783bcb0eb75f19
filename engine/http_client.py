"""A JSON-over-HTTP client for model servers (vLLM, llama.cpp, Ollama), with retries and plain errors.

Model servers restart, warm up and shed load: connection errors, 429 and 5xx are retried with exponential
backoff. Every other failure becomes a one-line `CodescalerError` carrying the server's own message, so a
user sees "the model `x` does not exist" rather than a stack of HTTP internals.
"""

from __future__ import annotations

import time
from typing import Any

from engine.errors import CodescalerError, first_line

RETRIED_STATUS = {429, 500, 502, 503, 504}


def server_message(response: Any) -> str:
    """The error text of a vLLM/FastAPI/OpenAI error body (`error.message` or `detail`), else the raw body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        message = error.get("message") if isinstance(error, dict) else error or body.get("detail")
        if message:
            return str(message).replace("\n", " ")[:300]
    return response.text.strip().replace("\n", " ")[:300]


class JsonHttpClient:
    """Requests to one server at `url`; `what` names the server in error messages ("reward server")."""

    def __init__(
        self,
        url: str,
        what: str,
        *,
        api_key: str | None = None,
        timeout_s: float = 60.0,
        retries: int = 3,
        backoff_s: float = 0.5,
    ):
        import httpx

        self.url = url.rstrip("/")
        self.what = what
        self.retries = retries
        self.backoff_s = backoff_s
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(base_url=self.url, headers=headers, timeout=timeout_s)

    def request(
        self,
        method: str,
        path: str,
        explain_404: str | None = None,
        explain_401: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """The decoded JSON answer; `explain_404` replaces the message of a route-level 404 (Not Found),
        `explain_401` the whole message of a 401 (for servers whose credential is not an API key)."""
        import httpx

        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = self._client.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                if last:
                    raise CodescalerError(
                        f"cannot reach the {self.what} at {self.url}{path}: {first_line(exc)}; "
                        "is it running, and is the URL right?"
                    ) from exc
            else:
                if response.status_code < 400:
                    return response.json()
                if response.status_code not in RETRIED_STATUS or last:
                    raise CodescalerError(self._explain(path, response, explain_404, explain_401))
            time.sleep(self.backoff_s * 2**attempt)
        raise AssertionError("unreachable")

    def _explain(self, path: str, response: Any, explain_404: str | None, explain_401: str | None) -> str:
        detail = server_message(response)
        if response.status_code == 404 and explain_404 and detail == "Not Found":
            return f"{self.url} has no {path} endpoint (404): {explain_404}"
        if response.status_code == 401 and explain_401:
            return explain_401
        if response.status_code == 401:
            return f"{self.url} refused the request (401 unauthorized): pass the server's API key"
        return f"{self.what} {self.url}{path} answered {response.status_code}: {detail}"

    def only_served_model(self, flag: str) -> str:
        """The one model the server lists at /v1/models (an error naming `flag` when it lists none or
        several: Ollama lists every model it has pulled)."""
        models = [entry["id"] for entry in self.request("GET", "/v1/models").get("data", [])]
        if len(models) != 1:
            raise CodescalerError(
                f"{self.url} serves {len(models)} models ({', '.join(models) or 'none'}): name the one to use "
                f"with {flag}"
            )
        return models[0]

    def close(self) -> None:
        self._client.close()
