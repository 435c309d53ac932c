"""MLExchange reference worker flows (PYTHONPATH is the worker directory)."""
