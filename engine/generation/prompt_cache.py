"""The prompt encoded once, for one row, for samplers that decode N rows from it.

Both in-process samplers (`generate()` in the transformers backend and the CUDA-graph sampler) share a
prompt between their N rows: encoding it N times would multiply the prefill's cost by N. Only the last
position's logits are kept, where the model supports it: all of a 2,000-token prompt's would take
gigabytes with a 150k vocabulary.
"""

from __future__ import annotations

import inspect
from typing import Any


def encode_once(model: Any, input_ids: Any) -> tuple[Any, Any]:
    """(a `DynamicCache` holding `input_ids`' keys and values, the last position's logits), for one row."""
    from transformers import DynamicCache

    cache = DynamicCache(config=model.config)
    keep = {"logits_to_keep": 1} if "logits_to_keep" in inspect.signature(model.forward).parameters else {}
    logits = model(input_ids=input_ids, past_key_values=cache, use_cache=True, **keep).logits[:, -1]
    return cache, logits
