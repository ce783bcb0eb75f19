"""Evaluation: how well a reward model orders programs, and how well it selects among N candidates."""
