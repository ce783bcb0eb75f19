"""The small policy and reward model shipped inside the package, used when no model is configured.

They are built by `codescaler models build-default` (training/default_models) and described, with their
measured quality, in each folder's README.md (the model card). They make the product work offline out of
the box; real checkpoints (docs/models.md) make it good. The name `bundled` selects them explicitly
wherever a model is asked for (`--policy bundled`, `reward_model = "bundled"`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from engine.errors import CodescalerError

BUNDLED = "bundled"
ROOT = Path(__file__).resolve().parent
Role = Literal["policy", "reward"]


def bundled_folder(role: Role) -> Path:
    """The shipped model folder for `role`, or a clear error when this install lacks it."""
    folder = ROOT / role
    if not (folder / "config.json").is_file():
        raise CodescalerError(
            f"the bundled {role} model is missing from this install ({folder}): reinstall codescaler, "
            f"rebuild it with `codescaler models build-default DIR`, or name a model (--policy/--reward-model)"
        )
    return folder


def resolve(name: str | None, role: Role) -> str:
    """`name`, or the bundled model's folder when `name` is unset or `bundled`."""
    return str(bundled_folder(role)) if name in (None, "", BUNDLED) else name  # type: ignore[arg-type]
