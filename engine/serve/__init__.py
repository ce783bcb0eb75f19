"""The engine service: one loaded policy and reward model, shared by many editors over websockets."""
