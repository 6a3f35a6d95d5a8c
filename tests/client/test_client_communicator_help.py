"""The forwarded driver methods can be looked up on the class; the repr names the server."""

import inspect
import pydoc

from pydas.core import Communicator
from pydas.drivers import CoreDriver, TrackerDriver


def test_help_of_a_forwarded_method():
    text = pydoc.render_doc(Communicator.create_folder, renderer=pydoc.plaintext)
    assert 'create_folder(self, token, name, parent_id, **kwargs)' in text
    assert 'Calls ``midas.folder.create``' in text
    assert 'pydas.drivers.CoreDriver.create_folder' in text
    assert inspect.signature(Communicator.create_folder) == inspect.signature(
        CoreDriver.create_folder)


def test_every_default_driver_method_is_on_the_class():
    for driver_class in (CoreDriver, TrackerDriver):
        for name, value in vars(driver_class).items():
            if not name.startswith('_') and inspect.isfunction(value):
                assert inspect.isfunction(getattr(Communicator, name)), name


def test_instances_still_use_their_drivers(midas_server):
    with Communicator(midas_server.url) as comm:
        assert comm.create_folder.__self__ is comm.drivers[0]
        assert comm.get_server_version() == Communicator.get_server_version(comm)


def test_repr_shows_the_url():
    with Communicator('https://midas.example.org/midas/') as comm:
        assert repr(comm) == "<pydas.core.Communicator url='https://midas.example.org/midas'>"
