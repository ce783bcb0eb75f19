"""Which policy and reward model to run, and how: one value for the CLI, the config file and editors."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass, fields, replace
from typing import Any

from engine.default_models import BUNDLED, resolve
from engine.errors import CodescalerError
from engine.hub import check_available


@dataclass(frozen=True)
class ModelSpec:
    """The `[models]` settings that decide what gets loaded (hashable: engines are shared by spec)."""

    policy: str | None = None
    reward_model: str | None = None
    policy_backend: str = "transformers"
    policy_url: str | None = None
    policy_served_name: str | None = None
    reward_backend: str = "transformers"
    reward_url: str | None = None
    reward_served_name: str | None = None
    api_key: str | None = None
    fim_template: str = "auto"
    graph_decode: bool = False

    @classmethod
    def from_settings(cls, models: Mapping[str, Any], **overrides: Any) -> ModelSpec:
        """From a `[models]` section; `overrides` that are not None (CLI flags) win."""
        names = {field.name for field in fields(cls)}
        values = {key: value for key, value in models.items() if key in names}
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)

    @property
    def label(self) -> str:
        """The two models as a user would name them (unset ones are the bundled defaults)."""
        return f"{self.policy or BUNDLED} + {self.reward_model or BUNDLED}"

    def resolved(self) -> ModelSpec:
        """This spec with unset in-process models replaced by the bundled defaults' folders. A model served
        elsewhere has no default: its server decides what runs, so it must be named."""
        if self.policy_backend == "openai" and not self.policy:
            raise CodescalerError(
                "the openai policy backend needs --policy: the served model (or its tokenizer)"
            )
        if self.reward_backend == "http" and not self.reward_model:
            raise CodescalerError(
                "the http reward backend needs --reward-model: the served model (or its tokenizer)"
            )
        spec = replace(
            self, policy=resolve(self.policy, "policy"), reward_model=resolve(self.reward_model, "reward")
        )
        check_available(spec.policy, "--policy")  # type: ignore[arg-type]
        check_available(spec.reward_model, "--reward-model")  # type: ignore[arg-type]
        return spec

    def load(self, stack: ExitStack) -> tuple[Any, Any]:
        """The generator and scorer, closed when `stack` closes."""
        from engine.generation.base import load_generator
        from engine.reward.scorer import load_scorer

        spec = self.resolved()
        generator = stack.enter_context(
            load_generator(
                spec.policy,  # type: ignore[arg-type]
                spec.policy_backend,
                url=spec.policy_url,
                api_key=spec.api_key,
                served_name=spec.policy_served_name,
                graph_decode=spec.graph_decode,
            )
        )
        scorer = stack.enter_context(
            load_scorer(
                spec.reward_model,  # type: ignore[arg-type]
                spec.reward_backend,  # type: ignore[arg-type]
                url=spec.reward_url,
                api_key=spec.api_key,
                served_name=spec.reward_served_name,
            )
        )
        return generator, scorer
