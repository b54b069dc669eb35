"""Helpers for tests and demos: generated faces with known answers."""
