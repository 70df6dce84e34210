"""pplx: a Unix-style command-line client for the Perplexity API."""

__version__ = "0.2.0"
