"""An embedded Midas Server 3.4.2 speaking the JSON web API over real HTTP.

:class:`MidasServer` runs it in the current process (tests, notebooks). From pytest, the
``midas_server`` fixture of the ``pydas`` plugin is a shared server, reset before each
test::

    import pydas

    def test_upload(midas_server, tmp_path):
        (tmp_path / 'scan.nrrd').write_bytes(b'data')
        pydas.login(email=midas_server.admin_email, api_key=midas_server.admin_api_key,
                    url=midas_server.url)
        pydas.upload(str(tmp_path / 'scan.nrrd'))

or by hand: ``with MidasServer() as server: ...``. From the command line, until Ctrl+C
(``--json`` prints one line with ``url``, ``email``, ``password`` and ``api_key``)::

    python -m pydas.testing --port 8080 --data-dir ./midas-data

``server.faults`` (:class:`Faults`) fails, cuts, delays or lags calls on purpose, also
over HTTP at ``/__pydas__/faults``; ``server.calls`` lists the received calls as
:class:`RecordedCall` tuples; :class:`Limits` bounds connections, timeouts and workers.
"""

from pydas.testing.connections import Limits
from pydas.testing.faults import Faults
from pydas.testing.http import RecordedCall
from pydas.testing.server import MidasServer

__all__ = ['MidasServer', 'Faults', 'Limits', 'RecordedCall']
