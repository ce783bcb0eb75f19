"""Training commands, registered on `codescaler` through the `codescaler.commands` entry points."""
