"""Cleaning raw model completions before they are syntax-checked and ranked.

A model's raw output is rarely what the user should accept: it runs past the function it was asked to
finish, repeats the lines below the cursor, loops, or duplicates the bracket the editor already closed.
Each problem is fixed by one small filter in its own module; `pipeline.ITEM_FILTERS` lists them in the
order they run and `pipeline.clean` applies them, then removes duplicates.
"""
