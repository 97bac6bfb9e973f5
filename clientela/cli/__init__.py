"""The ``clientela`` command (Typer + Rich)."""
