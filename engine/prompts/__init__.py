"""Prompts for the policy: fill-in-the-middle at a cursor, or an instruction for a problem statement."""
