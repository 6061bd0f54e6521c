"""Rendering results: text for people, JSON for machines.  Engines never print."""
