"""Hugging Face `datasets` access for problems and pairs: hub references and local files or folders.

Both the DeepCoder problems and the released CodeScalerPair-51K pairs are published as Hugging Face
datasets, and users keep local copies in every shape `datasets` writes (a `save_to_disk` folder, parquet,
JSON). One reader for all of them keeps "works on the hub" and "works on my copy" the same code path.
`datasets` is imported here, inside the functions, because it takes seconds to import and most commands
never need it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import CodescalerError, first_line

# File suffixes `datasets` reads with a packaged builder, without any hub access.
_BUILDERS = {".parquet": "parquet", ".json": "json", ".jsonl": "json", ".arrow": "arrow", ".csv": "csv"}


@dataclass(frozen=True)
class HFRef:
    """`hf:DATASET[:CONFIG[:SPLIT]]`: a hub id or a local path, a config name and a split."""

    dataset: str
    config: str | None = None
    split: str = "train"

    @property
    def label(self) -> str:
        """A short name for task ids: the config, else the dataset's last path component."""
        return self.config or Path(self.dataset).name.split(".")[0]


def parse_hf_ref(spec: str) -> HFRef:
    """Parse `hf:DATASET[:CONFIG[:SPLIT]]` (empty parts take their defaults)."""
    parts = spec.removeprefix("hf:").split(":")
    if not parts[0] or len(parts) > 3:
        raise CodescalerError(
            f"bad dataset reference '{spec}': write hf:DATASET[:CONFIG[:SPLIT]], "
            "e.g. hf:agentica-org/DeepCoder-Preview-Dataset:lcbv5:train"
        )
    config = parts[1] if len(parts) > 1 and parts[1] else None
    split = parts[2] if len(parts) > 2 and parts[2] else "train"
    return HFRef(parts[0], config, split)


def _datasets() -> Any:
    try:
        import datasets
    except ImportError as exc:
        raise CodescalerError(
            "the 'datasets' package is not installed: pip install 'codescaler[train]'"
        ) from exc
    return datasets


def load_dataset_rows(ref: HFRef, limit: int | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row index, row) for the first `limit` rows of the dataset `ref` names.

    A local folder written by `save_to_disk` is opened with `load_from_disk`; a local file with the
    packaged builder for its suffix (the whole file is the split); anything else (a hub id, a folder of
    data files) with `load_dataset`.
    """
    datasets = _datasets()
    path = Path(ref.dataset)
    try:
        if (path / "dataset_dict.json").is_file() or (path / "state.json").is_file():
            data = datasets.load_from_disk(str(path))
            if isinstance(data, datasets.DatasetDict):
                if ref.split not in data:
                    raise CodescalerError(
                        f"{ref.dataset} has no split '{ref.split}' (it has: {', '.join(data)})"
                    )
                data = data[ref.split]
        elif path.is_file():
            builder = _BUILDERS.get(path.suffix)
            if builder is None:
                raise CodescalerError(
                    f"cannot read {path}: give a {', '.join(sorted(_BUILDERS))} file or a dataset folder"
                )
            data = datasets.load_dataset(builder, data_files={ref.split: str(path)}, split=ref.split)
        else:
            data = datasets.load_dataset(ref.dataset, ref.config, split=ref.split)
    except CodescalerError:
        raise
    except Exception as exc:  # the library's many error types all mean "cannot load this dataset"
        raise CodescalerError(f"cannot load dataset {ref.dataset}: {first_line(exc)}") from exc
    if limit is not None:
        data = data.select(range(min(limit, len(data))))
    yield from enumerate(data)
