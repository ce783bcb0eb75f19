"""The configuration file: one TOML schema for `rank`, `serve` and `lsp`, and for editor settings.

Editors send the same sections as JSON (`initializationOptions`, `workspace/didChangeConfiguration`), so a
user learns one set of names. Precedence, lowest first: built-in defaults < the configuration file < CLI
flags < editor settings (initialization options, then live changes). Unknown sections or keys and wrong
types are errors that name the file and the key: a typo must not silently fall back to a default.

Where the file is: `--config FILE`, else `$CODESCALER_CONFIG`, else
`$XDG_CONFIG_HOME/codescaler/config.toml` (`~/.config/codescaler/config.toml`) when it exists.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine.errors import CodescalerError

# section -> key -> accepted types. `languages` maps any language name to a bool.
SCHEMA: dict[str, dict[str, tuple[type, ...]]] = {
    "models": {
        "policy": (str,),
        "reward_model": (str,),
        "policy_backend": (str,),
        "policy_url": (str,),
        "policy_served_name": (str,),
        "reward_backend": (str,),
        "reward_url": (str,),
        "reward_served_name": (str,),
        "fim_template": (str,),
        "engine": (str,),
        "token": (str,),
        "token_file": (str,),
        "api_key": (str,),
        "graph_decode": (bool,),
    },
    "completion": {
        "enabled": (bool,),
        "n": (int,),
        "max_new_tokens": (int,),
        "temperature": (int, float),
        "top_p": (int, float),
        "seed": (int,),
        "top_k": (int,),
        "threshold": (int, float),
        "invoked_items": (int,),
        "debounce_ms": (int, float),
        "line_mode": (str,),
    },
    "server": {
        "slow_s": (int, float),
        "max_document_chars": (int,),
        "max_message_bytes": (int,),
    },
    # What happened to the suggestions (docs/feedback.md): record it, with or without the texts, where.
    "feedback": {
        "record": (bool,),
        "store_text": (bool,),
        "db": (str,),
    },
    # Repository context (docs/repository-context.md): definitions and similar code from the workspace.
    "context": {
        "enabled": (bool,),
        "share": (int, float),
        "max_chars": (int,),
        "exclude": (list,),
        "disabled_languages": (list,),
    },
    "languages": {},
}


def _check_value(where: str, value: Any, kinds: tuple[type, ...]) -> None:
    ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
    if not ok:
        wanted = " or ".join(kind.__name__ for kind in kinds)
        raise CodescalerError(f"{where} must be {wanted}, not {type(value).__name__} ({value!r})")


def validate(settings: Any, source: str) -> dict[str, dict[str, Any]]:
    """`settings` checked against the schema; `source` names where they came from in error messages.
    `null` values are dropped (they mean "not set", so a lower layer applies)."""
    if not isinstance(settings, Mapping):
        raise CodescalerError(f"{source}: settings must be an object with sections {', '.join(SCHEMA)}")
    checked: dict[str, dict[str, Any]] = {}
    for section, values in settings.items():
        if section not in SCHEMA:
            raise CodescalerError(f"{source}: unknown section [{section}] (known: {', '.join(SCHEMA)})")
        if not isinstance(values, Mapping):
            raise CodescalerError(f"{source}: [{section}] must be a table of settings")
        keys = SCHEMA[section]
        out: dict[str, Any] = {}
        for key, value in values.items():
            if value is None:
                continue
            where = f"{source}: {section}.{key}"
            if section == "languages":
                _check_value(where, value, (bool,))
            elif key not in keys:
                raise CodescalerError(f"{source}: unknown setting {section}.{key} (known: {', '.join(keys)})")
            else:
                _check_value(where, value, keys[key])
                if isinstance(value, list) and not all(isinstance(item, str) for item in value):
                    raise CodescalerError(f"{where} must be a list of strings")
            out[str(key)] = value
        checked[section] = out
    return checked


def merge(*layers: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Later layers win, key by key within each section."""
    merged: dict[str, dict[str, Any]] = {}
    for layer in layers:
        for section, values in layer.items():
            merged.setdefault(section, {}).update(values)
    return merged


def config_path(explicit: Path | None = None) -> Path | None:
    """The configuration file to read, or None when there is none (an explicit path must exist)."""
    if explicit is not None:
        return explicit
    if env := os.environ.get("CODESCALER_CONFIG"):
        return Path(env)
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    default = base / "codescaler" / "config.toml"
    return default if default.is_file() else None


def load_config(explicit: Path | None = None) -> dict[str, dict[str, Any]]:
    """The validated configuration file's settings ({} when there is no file)."""
    path = config_path(explicit)
    if path is None:
        return {}
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise CodescalerError(
            f"cannot read config file {path}: {exc.strerror or exc}; fix the path (--config or "
            "CODESCALER_CONFIG)"
        ) from exc
    except UnicodeDecodeError as exc:
        raise CodescalerError(
            f"config file {path} is not UTF-8 text (byte {exc.start}); save it as UTF-8"
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise CodescalerError(f"config file {path} is not valid TOML: {exc}") from exc
    return validate(data, str(path))
