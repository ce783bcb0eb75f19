"""A model named by hub id must be downloadable now, or already downloaded: checked in one quick request
before loading, so an unreachable hub is one line in seconds instead of half a minute of retries."""

from __future__ import annotations

import os
from pathlib import Path

from engine.errors import CodescalerError, first_line

HINT = "pass a local folder, or download it where the hub is reachable (HF_HUB_OFFLINE=1 then uses it)"


_CONFIRMED: set[str] = set()  # hub ids the hub answered for: a command checks up front, its loaders again


def check_available(name: str, flag: str, timeout_s: float = 5.0) -> None:
    """Nothing to do for a local folder, a downloaded model or one confirmed earlier in this process;
    else one HEAD request to the hub (none in offline mode: then the model is simply not there)."""
    from engine.default_models import BUNDLED

    if name == BUNDLED or name in _CONFIRMED or Path(name).expanduser().exists():
        return
    from huggingface_hub import try_to_load_from_cache

    try:
        cached = try_to_load_from_cache(name, "config.json")
    except ValueError:  # not a hub id (a folder that does not exist): the model loader says so
        return
    if isinstance(cached, str):
        return
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        raise CodescalerError(
            f"{flag} {name} is neither a local folder nor downloaded, and HF_HUB_OFFLINE is set: download it "
            "first (unset HF_HUB_OFFLINE) or pass a local folder"
        )
    import httpx

    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
    token = os.environ.get("HF_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.head(f"{endpoint}/{name}/resolve/main/config.json", headers=headers,
                              timeout=timeout_s, follow_redirects=True)  # fmt: skip
    except httpx.HTTPError as exc:
        raise CodescalerError(
            f"cannot fetch {flag} {name} from the Hugging Face hub ({first_line(exc)}): {HINT}"
        ) from exc
    if response.status_code in (401, 403, 404):
        raise CodescalerError(
            f"{flag} {name} is not on the Hugging Face hub, or is private ({response.status_code}): check the "
            "name, log in (HF_TOKEN) for a private model, or pass a local folder"
        )
    _CONFIRMED.add(name)
