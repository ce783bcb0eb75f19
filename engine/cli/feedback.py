"""`codescaler feedback stats|pairs|threshold|purge|export`: what the recorded suggestions tell.

Every command reads the database the language server writes (`--db`, else `feedback.db` from the config
file, else the default file; engine/feedback/location.py). Dates are ISO (`2026-12-01`,
`2026-12-01T09:30`), in UTC unless they name a zone, or relative (`7d`, `12h`).
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import typer

from engine.errors import CodescalerError
from engine.feedback.location import Database, resolve
from engine.feedback.store import Store
from engine.jsonl import write_jsonl_atomic
from engine.settings import Settings

app = typer.Typer(
    help="Acceptance records: stats, preference pairs, a threshold, export and purge.", no_args_is_help=True
)

DB = typer.Option(
    None,
    "--db",
    help="Feedback database: a SQLite path or postgresql://USER@HOST/DB (default: feedback.db, else ~/.local/share/codescaler/feedback.sqlite3).",
)
CONFIG = typer.Option(None, "--config", help="Config file to read feedback.db from.")
SINCE = typer.Option(None, "--since", help="Only requests from this date or time on (ISO, UTC; or 7d, 12h).")
RELATIVE = re.compile(r"^(\d+)([dh])$")


def parse_date(text: str, flag: str) -> float:
    """A date flag as a UNIX time; a one-line error naming the flag when it is not one."""
    relative = RELATIVE.match(text.strip())
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2)
        return time.time() - amount * (86400 if unit == "d" else 3600)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise CodescalerError(
            f"{flag} {text!r} is not a date: use 2026-12-01, 2026-12-01T09:30, 7d or 12h"
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _database(db: str | None, config: Path | None) -> Database:
    return resolve(db) if db is not None else Settings.load(config).feedback_db


def _records(db: str | None, config: Path | None, since: str | None) -> list:
    store = Store(_database(db, config), create=False)
    try:
        return store.requests(since=None if since is None else parse_date(since, "--since"))
    finally:
        store.close()


@app.command("stats")
def stats(
    db: str | None = DB,
    config: Path | None = CONFIG,
    since: str | None = SINCE,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of the summary."),
    out: Path | None = typer.Option(
        None, "--out", help="Also write report.md, stats.json and PNG plots here."
    ),
) -> None:
    """Requests, acceptance with its interval, by language, line mode and reward; latency."""
    from engine.feedback.report import summary, write_report
    from engine.feedback.stats import summarise

    figures = summarise(_records(db, config, since))
    if out is not None:
        written = write_report(figures, out)
        typer.echo(f"wrote {', '.join(str(path) for path in written)}", err=True)
    typer.echo(json.dumps(figures) if as_json else summary(figures))


@app.command("pairs")
def pairs(
    out: Path = typer.Option(
        ..., "--out", help="Pairs file to write (JSONL: question, chosen, rejected, ...)."
    ),
    db: str | None = DB,
    config: Path | None = CONFIG,
    since: str | None = SINCE,
    min_gap: float = typer.Option(
        0.0, "--min-gap", help="Keep pairs whose two items' rewards differ by at least this."
    ),
    partial_min: float = typer.Option(
        0.5, "--partial-min", help="A partial accept counts from this share of the item's characters."
    ),
) -> None:
    """Accepted over shown-and-not-taken, as reward-model pairs for `train-rm --pairs`."""
    from engine.feedback.pairs import feedback_pairs

    rows, reasons = feedback_pairs(_records(db, config, since), min_gap, partial_min)
    write_jsonl_atomic(out, rows)
    paired = reasons.pop("paired", 0)
    other = ", ".join(f"{name} {count}" for name, count in sorted(reasons.items())) or "none"
    typer.echo(f"wrote {len(rows)} pairs from {paired} requests to {out} (requests without pairs: {other})")


@app.command("threshold")
def threshold(
    db: str | None = DB,
    config: Path | None = CONFIG,
    since: str | None = SINCE,
    as_json: bool = typer.Option(False, "--json", help="Print the candidates as one JSON object."),
) -> None:
    """The completion.threshold that keeps the most accepted characters and removes the most dismissals."""
    from engine.feedback.threshold import candidates, table_rows

    result = candidates(_records(db, config, since))
    if as_json:
        typer.echo(json.dumps(result))
        return
    if not result["decided"]:
        raise CodescalerError(
            "no shown suggestion with a known outcome yet: use completions for a while first"
        )
    header = ("threshold", "kept accepted chars", "removed dismissed", "lost chars", "score")
    rows = [
        (
            "none" if row["threshold"] is None else f"{row['threshold']:.4f}",
            f"{row['kept_accepted_chars']} of {result['accepted_chars']}",
            f"{row['removed_dismissed']} of {result['dismissed']} ({row['removed_dismissed_share']:.0%})",
            f"{row['lost_chars_share']:.0%}",
            f"{row['score']:+.3f}" + ("  <- best" if row is result["best"] else ""),
        )
        for row in table_rows(result)
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    typer.echo("")
    if result["config"] is None:
        typer.echo("no threshold helps: keep completion.threshold unset")
    else:
        typer.echo(f"in the config file:\n{result['config']}")


@app.command("purge")
def purge(
    db: str | None = DB,
    config: Path | None = CONFIG,
    before: str | None = typer.Option(
        None, "--before", help="Delete requests older than this date (ISO, UTC; or 30d)."
    ),
    everything: bool = typer.Option(False, "--all", help="Delete every record."),
) -> None:
    """Delete records (and their texts) for good."""
    if (before is None) == (not everything):
        raise CodescalerError("say what to delete: --before DATE or --all")
    store = Store(_database(db, config), create=False)
    try:
        deleted = store.purge(None if everything else parse_date(before or "", "--before"))
    finally:
        store.close()
    typer.echo(f"deleted {deleted} requests from {store.database.name}")


@app.command("export")
def export(
    out: Path = typer.Option(..., "--out", help="JSONL file to write: one request per line, with its items."),
    db: str | None = DB,
    config: Path | None = CONFIG,
    since: str | None = SINCE,
) -> None:
    """Every record as JSONL, for your own analysis or another database."""
    records = _records(db, config, since)
    write_jsonl_atomic(out, (msgspec.to_builtins(record) for record in records))
    typer.echo(f"wrote {len(records)} requests to {out}")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="feedback")
