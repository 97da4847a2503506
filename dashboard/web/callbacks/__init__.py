"""Thin callback wiring, one module per panel; each exposes register()."""
