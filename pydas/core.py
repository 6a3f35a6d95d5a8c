"""The :class:`Communicator`: a single object through which every pydas driver is reached."""

import functools
import inspect

from pydas.drivers import (BatchmakeDriver, CoreDriver, DicomextractorDriver,
                           MultiFactorAuthenticationDriver, SolrDriver, ThumbnailCreatorDriver,
                           TrackerDriver)
from pydas.transport import Transport

DEFAULT_DRIVER_CLASSES = (
    CoreDriver, BatchmakeDriver, DicomextractorDriver, MultiFactorAuthenticationDriver,
    SolrDriver, ThumbnailCreatorDriver, TrackerDriver,
)


class Communicator(object):
    """Entry point of the driver layer: one object that reaches every Midas API method.

    Any public attribute of an attached driver can be used on the communicator
    itself (it is looked up in the drivers in order), e.g.
    ``communicator.folder_get(token, 5)``; the methods of the default drivers are
    documented on this class too (``help(Communicator.folder_get)``). The drivers
    send through one shared HTTP session, so they share one connection pool; leave
    a ``with`` block or call :meth:`close` to release it.

    :param url: base URL of the Midas server, e.g. ``https://example.org/midas``
    :type url: string
    :param drivers: (optional) driver instances to attach; when omitted, one instance of
        each class of :data:`DEFAULT_DRIVER_CLASSES`
    :type drivers: None | list[T <= pydas.drivers.BaseDriver]
    :param session: (optional) a ``requests.Session`` to send through (proxies,
        certificates, adapters); it remains the caller's, so :meth:`close` leaves it open
    :type session: None | requests.Session
    :param timeout: (optional) connect and read timeouts applied to every call, in seconds
    :type timeout: None | float | pydas.transport.Timeout
    :param retry: (optional) when to send a failed call again; ``0`` turns retries off
    :type retry: None | int | pydas.transport.Retry
    """

    def __init__(self, url, drivers=None, session=None, timeout=None, retry=None):
        self._url = url.rstrip('/')
        self._transport = Transport(session=session, timeout=timeout, retry=retry)
        if drivers is None:
            drivers = [driver_class(url) for driver_class in DEFAULT_DRIVER_CLASSES]
        self._drivers = list(drivers)
        for driver in self._drivers:
            driver.transport = self._transport

    def __repr__(self):
        return '<{0}.{1} url={2!r}>'.format(type(self).__module__, type(self).__name__,
                                            self._url)

    def __getattr__(self, name):
        # Only called for names the communicator itself lacks: the methods of drivers
        # other than the default ones.
        if name.startswith('_'):
            raise AttributeError(name)
        for driver in self.__dict__.get('_drivers', ()):
            if hasattr(driver, name):
                return getattr(driver, name)
        raise AttributeError("'%s' object has no attribute '%s'"
                             % (type(self).__name__, name))

    def __dir__(self):
        names = set(super(Communicator, self).__dir__())
        for driver in self._drivers:
            names.update(name for name in dir(driver) if not name.startswith('_'))
        return sorted(names)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        """Release the pooled connections of the session the communicator created.

        A session supplied by the caller is not closed.
        """
        self._transport.close()

    def reserve_connections(self, count):
        """Let ``count`` threads use the communicator at once, each keeping its connection
        (grows the pool of a session the communicator created; see
        :meth:`pydas.transport.Transport.reserve_connections`).

        :param count: threads sending requests at once, at most
        :type count: int
        """
        self._transport.reserve_connections(count)

    @property
    def session(self):
        """The ``requests.Session`` shared by all drivers.

        :rtype: requests.Session
        """
        return self._transport.session

    @session.setter
    def session(self, value):
        """Replace the shared session (the caller keeps ownership of it).

        :param value: the session to use from now on
        :type value: requests.Session
        """
        self._transport.close()
        self._transport.session = value
        self._transport.owns_session = False

    @property
    def drivers(self):
        """The drivers this communicator forwards attribute lookups to, in lookup order.

        :returns: the attached driver instances
        :rtype: list[T <= pydas.drivers.BaseDriver]
        """
        return self._drivers

    @property
    def url(self):
        """Base URL of the Midas server that the drivers call.

        :returns: the base URL given at construction or assigned since, without a
            trailing slash
        :rtype: string
        """
        return self._url

    @url.setter
    def url(self, value):
        """Point every attached driver at another Midas server.

        :param value: base URL of the server (a trailing slash is dropped)
        :type value: string
        """
        self._url = value.rstrip('/')
        for driver in self._drivers:
            driver.url = value

    @property
    def debug(self):
        """Whether verbose call logging is on in all the attached drivers.

        :returns: ``True`` only when each driver has ``debug`` turned on
        :rtype: bool
        """
        return all(driver.debug for driver in self._drivers)

    @debug.setter
    def debug(self, value):
        """Turn verbose call logging on or off in every attached driver.

        :param value: ``True`` to log each call at INFO level on the ``pydas`` logger
        :type value: bool
        """
        for driver in self._drivers:
            driver.debug = value

    @property
    def verify_ssl_certificate(self):
        """Whether all the attached drivers check the server's TLS certificate.

        :returns: ``True`` only when no driver has certificate checking turned off
        :rtype: bool
        """
        return all(driver.verify_ssl_certificate for driver in self._drivers)

    @verify_ssl_certificate.setter
    def verify_ssl_certificate(self, value):
        """Choose how every attached driver checks the server's TLS certificate.

        :param value: ``True`` to check it against the default CA bundle, ``False`` to skip
            the check, or the path of a CA bundle file to check it against
        :type value: bool | string
        """
        for driver in self._drivers:
            driver.verify_ssl_certificate = value

    def set_auth(self, value):
        """Give every attached driver HTTP credentials to send with each request.

        Useful when the server sits behind HTTP authentication; the Midas token is
        still needed for the API itself.

        :param value: what ``requests`` accepts as ``auth``, e.g. a ``(user, password)``
            pair, or ``None`` to send no HTTP credentials
        :type value: None | tuple
        """
        for driver in self._drivers:
            driver.auth = value


class _DriverMethod(object):
    """A method of the default drivers, seen on :class:`Communicator`.

    On the class it is a function with the driver method's signature and
    documentation (for ``help`` and autodoc); on a communicator it is the method of
    the first attached driver that has it, as :meth:`Communicator.__getattr__`
    would find it (an AttributeError if none has it).
    """

    def __init__(self, name, function, owner):
        self._name = name

        def documented(self, *args, **kwargs):
            return getattr(self, name)(*args, **kwargs)

        functools.update_wrapper(documented, function)
        documented.__module__ = Communicator.__module__
        documented.__qualname__ = '%s.%s' % (Communicator.__qualname__, name)
        documented.__doc__ = ('%s\n\nForwarded to the first attached driver that has it: '
                              ':meth:`pydas.drivers.%s.%s` with the default drivers.'
                              % (inspect.getdoc(function), owner.__name__, name))
        self._documented = documented

    def __get__(self, communicator, owner=None):
        if communicator is None:
            return self._documented
        for driver in communicator.__dict__.get('_drivers', ()):
            if hasattr(driver, self._name):
                return getattr(driver, self._name)
        raise AttributeError("'%s' object has no attribute '%s'"
                             % (type(communicator).__name__, self._name))


def _add_driver_methods():
    for driver_class in DEFAULT_DRIVER_CLASSES:
        for owner in driver_class.__mro__:
            for name, function in vars(owner).items():
                if (not name.startswith('_') and inspect.isfunction(function)
                        and name not in vars(Communicator)):
                    setattr(Communicator, name, _DriverMethod(name, function, owner))


_add_driver_methods()
