"""An embedded Midas Server 3.4.2 speaking the JSON web API over real HTTP.

``MidasServer`` runs it in the current process (tests, notebooks);
``python -m pydas.testing`` runs it from the command line.
"""

from pydas.testing.server import MidasServer

__all__ = ['MidasServer']
