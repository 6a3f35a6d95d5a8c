"""pytest plugin of the embedded Midas server (registered as the ``pydas`` entry point)."""
