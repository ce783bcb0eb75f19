"""The `codescaler` command line: one app, one module per subcommand."""
