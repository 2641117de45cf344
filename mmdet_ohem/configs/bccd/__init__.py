"""Pure-Python entry points to the configs; see README."""
