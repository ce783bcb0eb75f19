"""`codescaler feedback stats`: how good the suggestions are, and whether the reward predicts acceptance.

Counting rules (docs/feedback.md):
* `shown` — requests whose items reached the editor (outcome open, accepted, partial or dismissed);
* `accepted` — shown requests with an item taken, fully or in part;
* `no_outcome` — shown requests nothing was reported about (a client that cannot report, or the session
  ended first); `acceptance_rate` is `accepted` over the shown requests whose outcome is known, with a
  95% Wilson interval, so a client that cannot report does not drag it down;
* `by_reward` — the decided shown requests in up to five buckets of their best shown item's reward
  (quantiles of the data): the calibration table. A rate that climbs with the bucket says the reward
  predicts acceptance;
* latency percentiles are over requests the engine answered (cache hits have no engine time).
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from engine.feedback.records import RequestRecord

SHOWN = ("open", "accepted", "partial", "dismissed")
TAKEN = ("accepted", "partial")
OUTCOMES = ("open", "accepted", "partial", "dismissed", "superseded", "empty", "failed")
REWARD_BUCKETS = 5
Z95 = 1.959963984540054


def wilson(hits: int, total: int) -> list[float] | None:
    """The 95% Wilson score interval of hits/total (None for no data): sound at small counts and at 0 or
    100%, where the normal approximation gives impossible bounds."""
    if total == 0:
        return None
    p = hits / total
    denominator = 1 + Z95**2 / total
    centre = (p + Z95**2 / (2 * total)) / denominator
    half = Z95 * math.sqrt(p * (1 - p) / total + Z95**2 / (4 * total**2)) / denominator
    return [round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)]


def rate(hits: int, total: int) -> dict[str, Any]:
    return {
        "shown": total,
        "accepted": hits,
        "rate": None if total == 0 else round(hits / total, 4),
        "interval": wilson(hits, total),
    }


def top_reward(record: RequestRecord) -> float | None:
    return max((item.reward for item in record.items), default=None)


def accepted_chars(record: RequestRecord) -> int:
    """Characters taken, at most the accepted item's length (a client may count a selected prefix too)."""
    if record.outcome not in TAKEN or record.accepted_chars is None:
        return 0
    lengths = {item.rank: item.length for item in record.items}
    return min(record.accepted_chars, lengths.get(record.accepted_rank or 0, record.accepted_chars))


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100), linear between ranks; None without values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    value = ordered[low] + (ordered[high] - ordered[low]) * (position - low)
    return round(value, 3)


def _grouped(records: list[RequestRecord], key: Callable[[RequestRecord], Any]) -> dict[str, Any]:
    groups: dict[str, list[RequestRecord]] = defaultdict(list)
    for record in records:
        groups[str(key(record))].append(record)
    return {
        name: rate(sum(r.outcome in TAKEN for r in group), len(group))
        for name, group in sorted(groups.items())
    }


def reward_buckets(decided: list[RequestRecord]) -> list[dict[str, Any]]:
    """Acceptance by the best shown item's reward, in up to `REWARD_BUCKETS` quantile buckets."""
    scored = sorted((reward, r.outcome in TAKEN) for r in decided if (reward := top_reward(r)) is not None)
    if not scored:
        return []
    count = min(REWARD_BUCKETS, len(scored))
    bounds = [len(scored) * i // count for i in range(count + 1)]
    buckets = []
    for start, end in itertools.pairwise(bounds):
        chunk = scored[start:end]
        if not chunk:
            continue
        hits = sum(taken for _, taken in chunk)
        buckets.append(
            {"low": round(chunk[0][0], 4), "high": round(chunk[-1][0], 4), **rate(hits, len(chunk))}
        )
    return buckets


def summarise(records: list[RequestRecord]) -> dict[str, Any]:
    """Every figure of `feedback stats` as one JSON-ready object."""
    outcomes = {name: sum(r.outcome == name for r in records) for name in OUTCOMES}
    shown = [r for r in records if r.outcome in SHOWN]
    decided = [r for r in shown if r.outcome != "open"]
    accepted = sum(r.outcome in TAKEN for r in decided)
    engine = [r for r in records if r.cache == "miss" and r.total_ms is not None]
    days: dict[str, list[RequestRecord]] = defaultdict(list)
    for record in decided:
        days[datetime.fromtimestamp(record.time, UTC).date().isoformat()].append(record)
    return {
        "requests": len(records),
        "shown": len(shown),
        "accepted": accepted,
        "fully_accepted": outcomes["accepted"],
        "partially_accepted": outcomes["partial"],
        "dismissed": outcomes["dismissed"],
        "no_outcome": outcomes["open"],
        "acceptance_rate": None if not decided else round(accepted / len(decided), 4),
        "acceptance_interval": wilson(accepted, len(decided)),
        "accepted_chars": sum(accepted_chars(r) for r in decided),
        "items_reported_shown": sum(item.shown for r in shown for item in r.items),
        "outcomes": outcomes,
        "by_language": _grouped(decided, lambda r: r.language or "unknown"),
        "by_line_mode": _grouped(decided, lambda r: r.line_mode or "unknown"),
        "by_feature": _grouped(decided, lambda r: r.feature),
        "by_reward": reward_buckets(decided),
        "by_day": {
            day: rate(sum(r.outcome in TAKEN for r in group), len(group))
            for day, group in sorted(days.items())
        },
        "latency_ms": {
            "total": {
                "p50": percentile([r.total_ms for r in engine], 50),
                "p95": percentile([r.total_ms for r in engine], 95),
            },
            "engine": {
                "p50": percentile([r.engine_ms for r in engine if r.engine_ms is not None], 50),
                "p95": percentile([r.engine_ms for r in engine if r.engine_ms is not None], 95),
            },
        },
        "first": None if not records else _iso(records[0].time),
        "last": None if not records else _iso(records[-1].time),
    }


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")
