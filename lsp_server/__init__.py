"""codescaler's language server: the thin LSP adapter in front of the engine.

It depends on `engine` and never the other way round. The server itself (`codescaler lsp`, completion and
LSP 3.18 inline completion) arrives with the language-server issue; this package holds its place in the
layout so the dependency rule can be checked from the start.
"""
