"""Which policy and reward model to run, and how: one value for the CLI, the config file and editors."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass, fields
from typing import Any

from engine.errors import CodescalerError


@dataclass(frozen=True)
class ModelSpec:
    """The `[models]` settings that decide what gets loaded (hashable: engines are shared by spec)."""

    policy: str | None = None
    reward_model: str | None = None
    policy_backend: str = "transformers"
    policy_url: str | None = None
    reward_backend: str = "transformers"
    reward_url: str | None = None
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

    def load(self, stack: ExitStack) -> tuple[Any, Any]:
        """The generator and scorer, closed when `stack` closes."""
        from engine.generation.base import load_generator
        from engine.reward.scorer import load_scorer

        if not self.policy or not self.reward_model:
            raise CodescalerError(
                "no models configured: give --policy and --reward-model, set [models] policy and "
                "reward_model in the config file, or use a running engine (--engine)"
            )
        generator = stack.enter_context(
            load_generator(
                self.policy,
                self.policy_backend,
                url=self.policy_url,
                api_key=self.api_key,
                graph_decode=self.graph_decode,
            )
        )
        scorer = stack.enter_context(
            load_scorer(self.reward_model, self.reward_backend, url=self.reward_url, api_key=self.api_key)  # type: ignore[arg-type]
        )
        return generator, scorer
