"""The options commands share, declared once (in the style of vLLM's `EngineArgs`).

A command names the groups it takes (`@shared_options(models=..., engine=..., completion=...)`); the
decorator adds their flags to its signature, and hands the command one `Settings` (engine/settings.py):
defaults < config file < these flags. Flags default to None, so "not given" falls through to the config
file and then to the defaults, and every command spells a setting the same way (`--reward-model`,
`--max-new-tokens`, `--engine`).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import typer

from engine.config_file import validate
from engine.settings import Settings, read_token

CONFIG = typer.Option(
    None, "--config", help="Config file (default: $CODESCALER_CONFIG or ~/.config/codescaler/config.toml)."
)
# section, flag type, option: one entry per setting a flag can set.
OPTIONS: dict[str, tuple[str, Any, Any]] = {
    "policy": ("models", str | None, typer.Option(None, "--policy", help="Code model: local folder or hub id (tokenizer for openai).")),
    "reward_model": ("models", str | None, typer.Option(None, "--reward-model", help="Reward model: local folder or hub id (default: the bundled one).")),
    "policy_backend": ("models", str | None, typer.Option(None, help="transformers (default) | vllm | openai")),
    "policy_url": ("models", str | None, typer.Option(None, help="OpenAI-compatible server for the openai policy backend.")),
    "policy_served_name": ("models", str | None, typer.Option(None, help="The model name at --policy-url when the server lists several (Ollama).")),
    "reward_backend": ("models", str | None, typer.Option(None, help="transformers (default) | vllm | http")),
    "reward_url": ("models", str | None, typer.Option(None, help="vLLM pooling server for the http reward backend.")),
    "reward_served_name": ("models", str | None, typer.Option(None, help="The model name at --reward-url when the server lists several.")),
    "api_key": ("models", str | None, typer.Option(None, envvar="CODESCALER_API_KEY", help="Bearer token for model servers.")),
    "fim_template": ("models", str | None, typer.Option(None, help="auto (default) | qwen | starcoder | deepseek | codellama")),
    "graph_decode": ("models", bool | None, typer.Option(None, help="transformers policy on CUDA: sample with CUDA graphs (serve and lsp compile for the default N, about a minute, before they report ready; another N compiles at its first request).")),
    "engine": ("models", str | None, typer.Option(None, "--engine", help="Use a running codescaler serve (ws://HOST:PORT) instead of loading models.")),
    "token": ("models", str | None, typer.Option(None, "--token", envvar="CODESCALER_ENGINE_TOKEN", help="The engine's token.")),
    "token_file": ("models", Path | None, typer.Option(None, "--token-file", help="File holding the engine's token (stays out of `ps`, unlike --token).")),
    "n": ("completion", int | None, typer.Option(None, "-n", help="Candidates to sample (default 8).")),
    "max_new_tokens": ("completion", int | None, typer.Option(None, help="Longest candidate, in tokens (default 64).")),
    "temperature": ("completion", float | None, typer.Option(None, help="Sampling temperature, 0 = greedy (default 0.8).")),
    "top_p": ("completion", float | None, typer.Option(None, help="Nucleus sampling mass, above 0 and at most 1 (default 0.95).")),
    "seed": ("completion", int | None, typer.Option(None, help="Seed for reproducible sampling.")),
    "top_k": ("completion", int | None, typer.Option(None, help="Show at most this many candidates.")),
    "threshold": ("completion", float | None, typer.Option(None, help="Show nothing whose shaped reward is below this.")),
    "line_mode": ("completion", str | None, typer.Option(None, help="auto (default) | single | multi")),
    "debounce_ms": ("completion", float | None, typer.Option(None, help="Wait this long on automatic triggers (default 75).")),
    "invoked_items": ("completion", int | None, typer.Option(None, help="Items to cycle through when invoked (default 3).")),
    "record": ("feedback", bool | None, typer.Option(None, "--record-feedback/--no-record-feedback", help="Record each request and what became of it (default: on; docs/feedback.md).")),
    "db": ("feedback", str | None, typer.Option(None, "--feedback-db", help="Feedback database: a SQLite path or postgresql://USER@HOST/DB (default ~/.local/share/codescaler/feedback.sqlite3).")),
    "store_text": ("feedback", bool | None, typer.Option(None, "--store-text/--no-store-text", help="Keep the code around the cursor and the items' texts, which feedback pairs need (default: on for a local file, off for a server).")),
}  # fmt: skip
MODELS = ("policy", "reward_model", "policy_backend", "policy_url", "policy_served_name", "reward_backend",
          "reward_url", "reward_served_name", "api_key", "fim_template", "graph_decode")  # fmt: skip
ENGINE = ("engine", "token", "token_file")
SAMPLING = ("n", "max_new_tokens", "temperature", "top_p", "seed", "line_mode")
FEEDBACK = ("record", "db", "store_text")


def option(name: str) -> Any:
    """A shared flag's declaration, for a command that takes it as a plain parameter."""
    return OPTIONS[name][2]


def flags_layer(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Given flags as a settings layer (`token_file` read here, so a bad file fails before any work)."""
    layer: dict[str, dict[str, Any]] = {}
    for name, value in values.items():
        if name == "token_file":
            name, value = "token", read_token(value) if value is not None else None
            if value is None or layer.get("models", {}).get("token"):
                continue
        section = OPTIONS[name][0]
        layer.setdefault(section, {})[name] = value
    return validate(layer, "command line")


def shared_options(*names: Iterable[str] | str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Adds `--config` and the named shared flags to a command; the command takes `settings: Settings`
    (config file and flags already merged and checked) instead of them."""
    chosen = [name for group in names for name in ((group,) if isinstance(group, str) else group)]

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(command, eval_str=True)
        own = [p for p in signature.parameters.values() if p.name != "settings"]
        added = [
            inspect.Parameter(
                "config", inspect.Parameter.KEYWORD_ONLY, default=CONFIG, annotation=Path | None
            )
        ]
        added += [
            inspect.Parameter(
                name, inspect.Parameter.KEYWORD_ONLY, default=OPTIONS[name][2], annotation=OPTIONS[name][1]
            )
            for name in chosen
        ]

        @functools.wraps(command)
        def run(**kwargs: Any) -> Any:
            config = kwargs.pop("config")
            flags = flags_layer({name: kwargs.pop(name) for name in chosen})
            return command(settings=Settings.load(config, flags), **kwargs)

        parameters = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own] + added
        run.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in parameters}
        del run.__wrapped__  # typer must read the new signature, not the command's
        return run

    return decorate
