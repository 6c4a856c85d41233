"""The command line: `albumgen` and its commands (commands), batch and catalogue commands (batch, catalog),
and progress display (progress). `python -m agent.cli` runs it."""
