"""faceseal: sealed face-verification microservice."""

__version__ = "0.1.0"
