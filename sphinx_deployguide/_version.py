"""The package's version, in a module of its own so the core can name it (the cache's
format, the index request's User-Agent) without importing the package's Sphinx entry point."""

__version__ = "0.1.0"
