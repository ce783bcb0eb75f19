"""Repository context: what the rest of the project says about the code at the cursor.

`files` (which files of a workspace count), `outline` (tree-sitter definitions, signatures, docstrings
and imports of one file), `index` (outlines of a whole workspace, built in the background and kept
current), `retrieval` (the definitions and similar code one request needs, within a budget).
docs/repository-context.md explains the choices.
"""
