"""pydas: Python client library for the Midas Server 3 JSON web API."""

__version__ = '1.0.0'
