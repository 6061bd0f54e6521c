"""Reusable properties, one family per module; each docstring names the bug it catches."""
