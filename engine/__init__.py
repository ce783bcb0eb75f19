"""codescaler's engine: candidates in, syntax-checked, reward-scored and ranked candidates out.

Importing this package is cheap on purpose: torch, transformers and vLLM load only inside the backends
that need them, so the language server and the pure helpers (syntax, shaping, ranking) start fast.
"""

__version__ = "0.1.0"
