"""Clientela: a customer data platform that keeps customer data clean, lawful, safe and useful."""

__version__ = "0.1.0"
__all__ = ["__version__"]
