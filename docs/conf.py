"""Sphinx configuration of the pydas documentation.

The ``>>>`` examples of these pages run as tests (tests/docs/test_doctests.py)
against the embedded server.
"""

import os
import sys

sys.path.insert(0, os.path.abspath('..'))

import pydas  # noqa: E402

project = 'pydas'
author = 'pydas developers'
copyright = '2026, pydas developers'
release = pydas.__version__
version = '.'.join(release.split('.')[:2])

# Built-in extensions only: the build runs without network access.
extensions = ['sphinx.ext.autodoc', 'sphinx.ext.viewcode']

# The pytest plugin's fixtures are documented without pytest installed (the docs extra
# alone builds these pages); the mock hands each decorated fixture function back as it is.
autodoc_mock_imports = ['pytest']

exclude_patterns = ['_build']
html_theme = 'alabaster'
autodoc_member_order = 'bysource'
