"""The one owner of settings: completion knobs and models, with their defaults, read once in layers.

Layers, lowest first: built-in defaults < the config file (engine/config_file.py: where it is, its schema)
< command-line flags < editor settings (`initializationOptions`, then `workspace/didChangeConfiguration`).
`rank`, `serve`, `lsp` and `eval fim` all read their settings here, so a default is written once
(`RankOptions` holds the completion knobs' defaults and ranges) and every command means the same thing
by the same name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import msgspec

from engine.config_file import load_config, merge, validate
from engine.errors import CodescalerError
from engine.feedback.location import Database, resolve
from engine.model_spec import ModelSpec
from engine.protocol import RankOptions, field_error
from engine.text_files import read_text

_RANKED = ("n", "max_new_tokens", "temperature", "top_p", "seed", "top_k", "threshold", "line_mode")
DEFAULTS: dict[str, dict[str, Any]] = {
    "completion": {
        "enabled": True,
        **{name: getattr(RankOptions(), name) for name in _RANKED},
        "invoked_items": 3,
        "debounce_ms": 75,
    },
    # max_message_bytes: bigger than any document the server accepts (2,000,000 characters are at most
    # 8 MB of utf-8, 12 MB as JSON escapes), small enough that no client makes a connection hold gigabytes.
    "server": {"slow_s": 3.0, "max_document_chars": 2_000_000, "max_message_bytes": 64 << 20},
    # store_text unset: on for a local SQLite file, off for a team's PostgreSQL server.
    "feedback": {"record": True},
    "context": {
        "enabled": True,
        "share": RankOptions().context_share,
        "max_chars": 4_000,
        "exclude": [],
        "disabled_languages": [],
    },
}


def read_token(token_file: Path | None) -> str | None:
    """An engine token from a file (preferred: it stays out of `ps`) or CODESCALER_ENGINE_TOKEN."""
    import os

    if token_file is not None:
        token = read_text(token_file, "token file").strip()
        if not token:
            raise CodescalerError(f"token file {token_file} is empty")
        return token
    return os.environ.get("CODESCALER_ENGINE_TOKEN") or None


def editor_layer(options: Any, source: str) -> dict[str, dict[str, Any]]:
    """Validated settings sent by an editor, bare or under a `codescaler` key; `None` or `{}` is an empty
    layer."""
    if options is None:
        return {}
    if isinstance(options, Mapping) and isinstance(options.get("codescaler"), Mapping):
        options = options["codescaler"]
    return validate(options, source)


def check_engine_url(url: str) -> None:
    """An engine address is ws://HOST:PORT or wss://HOST:PORT (`codescaler serve` speaks websockets)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme in ("ws", "wss") and parts.hostname:
        return
    rest = url.split("://", 1)[1] if "://" in url else url
    hint = f"; did you mean ws://{rest}?" if parts.scheme in ("http", "https", "") else ""
    raise CodescalerError(
        f"the engine address {url!r} is not a websocket URL: use ws://HOST:PORT (or wss://){hint}"
    )


@dataclass(frozen=True)
class Settings:
    """Effective settings: every section merged over the defaults, checked once."""

    layers: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_layers(cls, *layers: Mapping[str, Mapping[str, Any]]) -> Settings:
        """Later layers win key by key; a value out of range is a `CodescalerError` naming it."""
        settings = cls(merge(DEFAULTS, *layers))
        _ = settings.rank_options  # checks the completion knobs now (and keeps them for every request)
        completion = settings.completion
        if completion["invoked_items"] < 1:
            raise CodescalerError(
                f"completion.invoked_items must be at least 1, not {completion['invoked_items']}"
            )
        if completion["debounce_ms"] < 0:
            raise CodescalerError("completion.debounce_ms must not be negative")
        if settings.engine_url is not None:
            check_engine_url(settings.engine_url)
        _ = settings.feedback_db
        if settings.layers["context"]["max_chars"] < 0:
            raise CodescalerError("context.max_chars must not be negative")
        return settings

    @classmethod
    def load(cls, config: Path | None, *layers: Mapping[str, Mapping[str, Any]]) -> Settings:
        """Defaults < the config file (`--config`, else the usual places) < `layers` (flags first)."""
        return cls.from_layers(load_config(config), *layers)

    @property
    def completion(self) -> dict[str, Any]:
        return self.layers["completion"]

    @property
    def server(self) -> dict[str, Any]:
        return self.layers["server"]

    @property
    def models(self) -> ModelSpec:
        return ModelSpec.from_settings(self.layers.get("models", {}))

    @property
    def engine_url(self) -> str | None:
        return self.layers.get("models", {}).get("engine")

    @property
    def engine_token(self) -> str | None:
        """`models.token`, else the contents of `models.token_file`, else CODESCALER_ENGINE_TOKEN."""
        models = self.layers.get("models", {})
        if models.get("token"):
            return models["token"]
        return read_token(Path(models["token_file"]).expanduser() if models.get("token_file") else None)

    @property
    def feedback_db(self) -> Database:
        """Where feedback goes (`feedback.db`, else the default file); a bad address is an error now."""
        return resolve(self.layers["feedback"].get("db"))

    @property
    def feedback_store_text(self) -> bool:
        """`feedback.store_text`, else on for a local file and off for a team server."""
        stored = self.layers["feedback"].get("store_text")
        return self.feedback_db.stores_text_by_default if stored is None else bool(stored)

    def context_for(self, language: str | None) -> bool:
        """Repository context on for this language: `context.enabled`, unless listed in
        `context.disabled_languages` (LSP language ids or canonical names)."""
        context = self.layers["context"]
        return bool(context["enabled"]) and (language or "") not in context["disabled_languages"]

    def enabled_for(self, language: str | None) -> bool:
        """Completion on for this language: `[languages]` per language, else `completion.enabled`."""
        languages = self.layers.get("languages", {})
        if language is not None and language in languages:
            return bool(languages[language])
        return bool(self.completion["enabled"])

    @cached_property
    def rank_options(self) -> RankOptions:
        """The completion knobs as one request's options (checked: `completion.n must be at least 1`);
        derived once, since settings never change (a change makes a new `Settings`)."""
        values = {name: self.completion.get(name) for name in _RANKED}
        values["context_share"] = self.layers["context"]["share"]
        try:
            return msgspec.convert(values, RankOptions)
        except (msgspec.ValidationError, ValueError) as exc:
            message = field_error(exc)
            if message.startswith("context_share"):  # the one knob of the [context] section
                raise CodescalerError("context.share" + message.removeprefix("context_share")) from exc
            raise CodescalerError(f"completion.{message}") from exc
