"""Completions already computed, reused while the user keeps typing.

Keyed by the document context the engine saw (language, the end of the prefix, the start of the suffix)
and the request's settings. "Typed-through" reuse: when the user types the start of a suggestion, the
current prefix extends a cached prefix by exactly what they typed; the cached items that begin with it
are still right, minus the typed part. Reused answers cost no engine time at all.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import msgspec

from engine.protocol import ScoredCompletion

PREFIX_KEY_CHARS = 4000
SUFFIX_KEY_CHARS = 1000
MAX_TYPED_THROUGH = 200


@dataclass(frozen=True)
class _Entry:
    prefix: str  # the last PREFIX_KEY_CHARS characters of the prefix
    whole_prefix: bool  # whether `prefix` is the whole prefix (the document start is in it)
    items: tuple[ScoredCompletion, ...]

    def typed_since(self, prefix: str) -> str:
        """What was typed after this entry's prefix to give `prefix`, or '' when it does not extend it."""
        if self.whole_prefix:
            extends = prefix.startswith(self.prefix)
            typed = prefix[len(self.prefix) :] if extends else ""
        else:
            start = max(0, len(prefix) - len(self.prefix) - MAX_TYPED_THROUGH)
            at = prefix.rfind(self.prefix, start, len(prefix) - 1)
            typed = prefix[at + len(self.prefix) :] if at >= 0 else ""
        return typed if len(typed) <= MAX_TYPED_THROUGH else ""


class CompletionCache:
    """An LRU of ranked items per document context."""

    def __init__(self, capacity: int = 256):
        self.capacity = capacity
        self._entries: OrderedDict[tuple, _Entry] = OrderedDict()
        self.hits = {"exact": 0, "typed_through": 0, "miss": 0}

    @staticmethod
    def _key(prefix: str, suffix: str, extra: tuple) -> tuple:
        return prefix[-PREFIX_KEY_CHARS:], suffix[:SUFFIX_KEY_CHARS], extra

    def put(self, prefix: str, suffix: str, extra: tuple, items: list[ScoredCompletion]) -> None:
        key = self._key(prefix, suffix, extra)
        self._entries[key] = _Entry(key[0], len(prefix) <= PREFIX_KEY_CHARS, tuple(items))
        self._entries.move_to_end(key)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def get(self, prefix: str, suffix: str, extra: tuple) -> list[ScoredCompletion] | None:
        """Items for this context: an exact hit, else typed-through items, else None."""
        key = self._key(prefix, suffix, extra)
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
            self.hits["exact"] += 1
            return list(entry.items)
        for (_, entry_suffix, entry_extra), entry in reversed(self._entries.items()):  # newest first
            if entry_extra != extra or entry_suffix != key[1]:
                continue
            typed = entry.typed_since(prefix)
            rest = [
                msgspec.structs.replace(item, text=item.text[len(typed) :])
                for item in entry.items
                if typed and item.text.startswith(typed) and len(item.text) > len(typed)
            ]
            if rest:
                self.hits["typed_through"] += 1
                return rest
        self.hits["miss"] += 1
        return None

    def stats(self) -> dict[str, Any]:
        return {"entries": len(self._entries), **self.hits}
