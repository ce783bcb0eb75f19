"""Candidate generation: N samples for one prompt from transformers, vLLM or an OpenAI-compatible server."""
