"""Progress bars for long offline work: tqdm on stderr when it is a terminal, nothing in logs and pipes."""

from __future__ import annotations

import sys
from typing import Any


class ProgressBar:
    """`with ProgressBar(total, "verify", "program", enabled) as bar: bar.update()`; a no-op when disabled
    or when stderr is not a terminal."""

    def __init__(self, total: int, desc: str, unit: str, enabled: bool = True) -> None:
        self.bar: Any = None
        if enabled and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr)

    def update(self, count: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(count)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
