"""The HTTP backend against a real vLLM server, with faults injected by a forwarding proxy."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from engine.errors import CodescalerError
from engine.reward.http_backend import HttpScorer
from tests.conftest import free_port, requires_vllm

pytestmark = requires_vllm


class FaultyProxy:
    """Forwards to `upstream`, but answers the first `failures` requests with `status`."""

    def __init__(self, upstream: str, failures: int, status: int = 503):
        self.upstream, self.failures, self.status, self.seen = upstream, failures, status, 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self, method):
                proxy.seen += 1
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if proxy.seen <= proxy.failures:
                    self.send_response(proxy.status)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"error": "injected"}')
                    return
                reply = httpx.request(method, proxy.upstream + self.path, content=body,
                                      headers={"Content-Type": "application/json"}, timeout=30)  # fmt: skip
                self.send_response(reply.status_code)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(reply.content)

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy_factory(vllm_reward_server):
    proxies = []

    def make(failures, status=503):
        proxies.append(FaultyProxy(vllm_reward_server, failures, status))
        return proxies[-1]

    yield make
    for proxy in proxies:
        proxy.close()


def test_transient_server_errors_are_retried(tiny_reward, vllm_reward_server, proxy_factory):
    proxy = proxy_factory(failures=2)
    with HttpScorer(proxy.url, str(tiny_reward), retries=3, backoff_s=0.01) as scorer:
        scores = scorer.score([("q", "x = 1"), ("q", "y = 2")])
    with HttpScorer(vllm_reward_server, str(tiny_reward)) as direct:
        assert scores == pytest.approx(direct.score([("q", "x = 1"), ("q", "y = 2")]), abs=1e-6)
    assert proxy.seen == 4  # two injected failures, then /v1/models and /classify


def test_persistent_errors_give_up_with_the_servers_message(tiny_reward, proxy_factory):
    proxy = proxy_factory(failures=100, status=503)
    with pytest.raises(CodescalerError, match=r"answered 503: .*injected"):
        HttpScorer(proxy.url, str(tiny_reward), retries=2, backoff_s=0.01)
    assert proxy.seen == 3


def test_client_errors_are_not_retried(tiny_reward, proxy_factory):
    proxy = proxy_factory(failures=100, status=400)
    with pytest.raises(CodescalerError, match="answered 400"):
        HttpScorer(proxy.url, str(tiny_reward), retries=3, backoff_s=0.01)
    assert proxy.seen == 1


def test_server_without_classify_is_explained(tiny_reward, vllm_reward_server):
    scorer = HttpScorer(vllm_reward_server + "/v1", str(tiny_reward), served_model_name="tiny-reward")
    with pytest.raises(CodescalerError, match=r"no /classify endpoint .* --runner pooling"):
        scorer.score([("q", "x = 1")])


def test_unreachable_server_is_a_clear_error(tiny_reward):
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(CodescalerError, match=f"cannot reach the reward server at {url}/v1/models"):
        HttpScorer(url, str(tiny_reward), retries=1, backoff_s=0.01)


def test_wrong_served_model_name_is_reported(tiny_reward, vllm_reward_server):
    scorer = HttpScorer(vllm_reward_server, str(tiny_reward), served_model_name="other-model")
    with pytest.raises(CodescalerError, match=r"answered 404: .*other-model"):
        scorer.score([("q", "x = 1")])
