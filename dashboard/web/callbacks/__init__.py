"""Thin callback wiring, one module per panel; each exposes register(). navigation.py holds what the
callbacks that navigate by writing the URL share (no callbacks of its own)."""
