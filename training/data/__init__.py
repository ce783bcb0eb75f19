"""Data in and out of training: problems with tests (HumanEval, MBPP+, JSONL problem files, DeepCoder-format
Hugging Face datasets) and preference pairs in the CodeScalerPair format. Formats: docs/data-formats.md.

Loaders only read and validate: no candidate or reference code is ever run here (that is the sandbox's job).
"""

from training.data.pairs import Pair, PairWriter, normalise_code, read_pairs, write_pairs
from training.data.problems import load_problems
from training.data.schema import write_problems

__all__ = [
    "Pair",
    "PairWriter",
    "load_problems",
    "normalise_code",
    "read_pairs",
    "write_pairs",
    "write_problems",
]
