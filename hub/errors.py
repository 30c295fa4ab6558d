"""Errors an operator can fix: printed as one clear line by the CLI, never a traceback."""


class ConfigurationError(Exception):
    """The hub cannot start with this configuration (message says what to change)."""
