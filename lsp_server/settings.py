"""The language server's effective settings, from every layer of the one configuration story.

Layers, lowest first (`engine/config_file.py` has the schema): built-in defaults < config file < CLI flags
< `initializationOptions` < `workspace/didChangeConfiguration`. Editors send the config file's sections
(`{"completion": {"n": 4}, "languages": {"markdown": false}}`), either bare or under a `codescaler` key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.config_file import merge, validate
from engine.errors import CodescalerError
from engine.model_spec import ModelSpec

DEFAULTS: dict[str, dict[str, Any]] = {
    "completion": {
        "enabled": True,
        "n": 8,
        "max_new_tokens": 64,
        "temperature": 0.8,
        "top_p": 0.95,
        "invoked_items": 3,
        "debounce_ms": 75,
        "line_mode": "auto",
    },
    "server": {"slow_s": 3.0, "max_document_chars": 2_000_000},
}


def editor_layer(options: Any, source: str) -> dict[str, dict[str, Any]]:
    """Validated settings sent by an editor; `None` or `{}` is an empty layer."""
    if options is None:
        return {}
    if isinstance(options, Mapping) and isinstance(options.get("codescaler"), Mapping):
        options = options["codescaler"]
    return validate(options, source)


@dataclass(frozen=True)
class Settings:
    """What one editor session runs with."""

    layers: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_layers(cls, *layers: Mapping[str, Mapping[str, Any]]) -> Settings:
        settings = cls(merge(DEFAULTS, *layers))
        settings.check()
        return settings

    def check(self) -> None:
        completion = self.completion
        for key, low in (("n", 1), ("max_new_tokens", 1), ("invoked_items", 1)):
            if completion[key] < low:
                raise CodescalerError(f"completion.{key} must be at least {low}, not {completion[key]}")
        if completion["line_mode"] not in ("auto", "single", "multi"):
            raise CodescalerError("completion.line_mode must be auto, single or multi")
        if completion["debounce_ms"] < 0 or completion["temperature"] < 0:
            raise CodescalerError("completion.debounce_ms and completion.temperature must not be negative")

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
        """`models.token`, else the contents of `models.token_file` (an unreadable file is an error)."""
        from pathlib import Path

        from engine.cli.engine_options import read_token

        models = self.layers.get("models", {})
        if models.get("token"):
            return models["token"]
        return read_token(Path(models["token_file"]).expanduser()) if models.get("token_file") else None

    def enabled_for(self, language: str | None) -> bool:
        """Completion on for this language: `[languages]` per language, else `completion.enabled`."""
        languages = self.layers.get("languages", {})
        if language is not None and language in languages:
            return bool(languages[language])
        return bool(self.completion["enabled"])

    def rank_request(self, line_mode: str | None = None) -> dict[str, Any]:
        """The engine request fields these settings ask for."""
        completion = self.completion
        return {
            "n": completion["n"],
            "max_new_tokens": completion["max_new_tokens"],
            "temperature": completion["temperature"],
            "top_p": completion["top_p"],
            "seed": completion.get("seed"),
            "threshold": completion.get("threshold"),
            "line_mode": line_mode or completion["line_mode"],
        }
