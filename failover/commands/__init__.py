"""One module per command: each holds the Typer signature and calls the core, then render."""
