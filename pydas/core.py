"""Module for the main user classes for pydas."""

from pydas.drivers import (BatchmakeDriver, CoreDriver, DicomextractorDriver,
                           MultiFactorAuthenticationDriver, SolrDriver, ThumbnailCreatorDriver,
                           TrackerDriver)
from pydas.transport import Transport

DEFAULT_DRIVER_CLASSES = (
    CoreDriver, BatchmakeDriver, DicomextractorDriver, MultiFactorAuthenticationDriver,
    SolrDriver, ThumbnailCreatorDriver, TrackerDriver,
)


class Communicator(object):
    """Class for communicating with Midas Server through its drivers.

    Every attribute of a driver is available on the communicator (the first
    driver that defines a name wins), e.g. ``communicator.folder_get(token, 5)``.
    All drivers share one HTTP session (one connection pool); use the
    communicator as a context manager, or call :meth:`close`, to release it.

    :param url: URL of the server, e.g. ``https://example.org/midas``
    :type url: string
    :param drivers: (optional) the drivers to use; by default one of each of
        :data:`DEFAULT_DRIVER_CLASSES`
    :type drivers: None | list[T <= pydas.drivers.BaseDriver]
    :param session: (optional) the ``requests.Session`` to share (proxies,
        certificates, adapters); a caller's session is not closed by :meth:`close`
    :type session: None | requests.Session
    :param timeout: (optional) timeouts of every call, in seconds
    :type timeout: None | float | pydas.transport.Timeout
    :param retry: (optional) retry policy (``0`` never retries)
    :type retry: None | int | pydas.transport.Retry
    """

    def __init__(self, url, drivers=None, session=None, timeout=None, retry=None):
        self._url = url
        self._transport = Transport(session=session, timeout=timeout, retry=retry)
        if drivers is None:
            drivers = [driver_class(url) for driver_class in DEFAULT_DRIVER_CLASSES]
        self._drivers = list(drivers)
        for driver in self._drivers:
            driver.transport = self._transport

    def __getattr__(self, name):
        # Only called for names the communicator itself lacks.
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
        """Close the connections of the shared session (a session given by the
        caller is left open)."""
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
        """Get the list of drivers attached to this communicator.

        :returns: list of drivers
        :rtype: list[T <= pydas.drivers.BaseDriver]
        """
        return self._drivers

    @property
    def url(self):
        """Return the URL of the server.

        :returns: URL of the server
        :rtype: string
        """
        return self._url

    @url.setter
    def url(self, value):
        """Set the URL of the server for every driver.

        :param value: URL of the server
        :type value: string
        """
        self._url = value
        for driver in self._drivers:
            driver.url = value

    @property
    def debug(self):
        """Return whether the debug state of every driver is True.

        :returns: True if the debug state of every driver is True
        :rtype: bool
        """
        return all(driver.debug for driver in self._drivers)

    @debug.setter
    def debug(self, value):
        """Set the debug state of every driver.

        :param value: debug state
        :type value: bool
        """
        for driver in self._drivers:
            driver.debug = value

    @property
    def verify_ssl_certificate(self):
        """Return whether the SSL certificate will be verified for all drivers
        attached to this communicator.

        :returns: True if the SSL certificate will be verified for every driver
        :rtype: bool
        """
        return all(driver.verify_ssl_certificate for driver in self._drivers)

    @verify_ssl_certificate.setter
    def verify_ssl_certificate(self, value):
        """Set whether the SSL certificate will be verified by every driver.

        :param value: True to verify, False not to, or the path of a CA bundle
        :type value: bool | string
        """
        for driver in self._drivers:
            driver.verify_ssl_certificate = value

    def set_auth(self, value):
        """Set the authentication in all drivers attached to this communicator.

        :param value: authentication tuple to be passed to requests.request()
        :type value: None | tuple
        """
        for driver in self._drivers:
            driver.auth = value
