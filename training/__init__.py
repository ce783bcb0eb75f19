"""codescaler's offline training commands: sandboxed verification, pair curation, reward-model and GRPO
training, evaluation.

Built on `engine` (the same reward formatter and scorers), never imported by it. The commands arrive with
the training and evaluation issues.
"""
