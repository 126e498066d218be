"""A self-hosted server speaking the Communications Mining (Re:infer) REST API."""

__version__ = "0.1.0"
