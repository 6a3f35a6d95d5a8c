"""The table of Midas web API methods the embedded server implements.

Each API area module (``system``, ``users``, ``folders``, ``tracker``...)
registers its handlers with :func:`api_method`; the HTTP layer resolves the
``method`` parameter with :func:`resolve` exactly as Midas does (section 1.4
of the API document): the prefix must be ``midas``, core names ignore dots
and case, module names must stand alone as the second token.

A handler takes one :class:`pydas.testing.http.Call` and returns the
``data`` of the envelope (plain Python values, encoded by the envelope
encoder), or a :class:`Redirect`, or raises :class:`ApiError`.
"""

PREFIX = 'midas'

# normalised core name -> handler; module name -> {normalised name -> handler}
_CORE = {}
_MODULES = {}
# canonical dotted name -> (module or None, handler), in registration order
CANONICAL = {}
# handler -> the further (pseudo-)module that must be enabled to serve it
_REQUIRES = {}


class ApiError(Exception):
    """A failure envelope: ``stat`` fail with this ``code`` and ``message``."""

    def __init__(self, code, message):
        super().__init__(code, message)
        self.code = code
        self.message = message


class Redirect(object):
    """An HTTP 302 answer to an API call (downloads), with an empty body."""

    def __init__(self, location):
        self.location = location


def _squash(tokens):
    return ''.join(tokens).lower()


def api_method(name, module=None, requires=None):
    """Register the decorated handler under the dotted API method ``name``.

    :param name: canonical name, e.g. ``'midas.item.get'``
    :param module: the Midas module that provides it (``'tracker'``...), or
        None for a core method
    :param requires: a further (pseudo-)module that must be enabled too
        (``'tracker_legacy'``), or None; without it the method does not exist
    """
    tokens = name.split('.')
    assert tokens[0] == PREFIX, name

    def register(handler):
        if module is None:
            _CORE[_squash(tokens[1:])] = handler
        else:
            assert tokens[1] == module, name
            _MODULES.setdefault(module, {})[_squash(tokens[2:])] = handler
        CANONICAL[name] = (module, handler)
        if requires is not None:
            _REQUIRES[handler] = requires
        return handler
    return register


def resolve(method, enabled_modules):
    """Return the handler for a ``method`` parameter, or None if it does not exist.

    :param enabled_modules: the names of the modules this server has enabled
    """
    tokens = method.split('.')
    if tokens[0] != PREFIX:
        return None
    handler = _CORE.get(_squash(tokens[1:]))
    if handler is None and len(tokens) >= 2 and tokens[1].lower() in enabled_modules:
        handler = _MODULES.get(tokens[1].lower(), {}).get(_squash(tokens[2:]))
    return handler if _served(handler, enabled_modules) else None


def _served(handler, enabled_modules):
    return _REQUIRES.get(handler) in (None,) + tuple(enabled_modules)


def method_names(enabled_modules):
    """The canonical names of the methods available with these modules, in registration
    order; a method registered with ``requires`` needs that module enabled too."""
    return [name for name, (module, handler) in CANONICAL.items()
            if (module is None or module in enabled_modules)
            and _served(handler, enabled_modules)]
