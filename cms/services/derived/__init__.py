"""Data derived on write: the registry of what is kept current and the worker's jobs."""
