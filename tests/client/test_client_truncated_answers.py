"""A JSON answer cut in the middle of its body, or among its headers, is retried, for
read-only methods only."""

import pytest
import requests

from pydas import exceptions
from pydas.core import Communicator
from pydas.session import Client
from pydas.transport import Retry

from cutting_relay import DOWNSTREAM, CuttingRelay


def private_folder(comm, token):
    return [f for f in comm.list_user_folders(token) if f['name'] == 'Private'][0]['folder_id']


def test_truncated_json_of_a_read_only_method_is_retried(server, comm, token):
    server.faults.cut_response(10, method='midas.folder.children')
    assert comm.folder_children(token, private_folder(comm, token)) == {
        'folders': [], 'items': []}
    assert len([c for c in server.calls if c.method == 'midas.folder.children']) == 2


def test_truncated_json_of_a_changing_method_is_not_retried(server, comm, token):
    server.faults.cut_response(10, method='midas.folder.create')
    with pytest.raises(exceptions.RequestError) as exc_info:
        comm.create_folder(token, 'once', private_folder(comm, token))
    assert isinstance(exc_info.value.__cause__, requests.exceptions.ChunkedEncodingError)
    assert len([c for c in server.calls if c.method == 'midas.folder.create']) == 1


def test_truncated_answers_until_retries_run_out(server, token):
    for _ in range(3):
        server.faults.cut_response(10, method='midas.folder.get')
    with Communicator(server.url, retry=Retry(total=2, backoff_factor=0)) as comm:
        with pytest.raises(exceptions.RequestError):
            comm.folder_get(token, 1)
    assert len([c for c in server.calls if c.method == 'midas.folder.get']) == 3


def test_a_cut_listing_does_not_abort_a_download(midas_server, ada, tmp_path):
    with Client(url=midas_server.url) as client:
        client.login(email=ada['email'], api_key=ada['api_key'])
        source = tmp_path / 'up' / 'study'
        (source / 'series').mkdir(parents=True)
        (source / 'series' / 'slice.dcm').write_bytes(b'slice bytes')
        client.upload(str(source))
        midas_server.faults.cut_response(15, method='midas.folder.children')
        result = client.download('/users/Ada_Lovelace/Private/study', str(tmp_path / 'down'))
    assert result.failed == []
    assert (tmp_path / 'down' / 'study' / 'series' / 'slice.dcm').read_bytes() == b'slice bytes'


# 40 bytes into an answer: in its Date header, before its Content-Length.
AMONG_THE_HEADERS = (DOWNSTREAM, 40)
NO_WAIT = Retry(total=2, backoff_factor=0)


def test_an_answer_cut_among_its_headers_is_retried_for_a_read_only_method(
        server, comm, token):
    """http.client takes the end of the stream for the end of the headers: without the
    check, the cut answer looks whole, with an empty body (not a JSON envelope)."""
    folder_id = private_folder(comm, token)
    with CuttingRelay(server.url, plan=[AMONG_THE_HEADERS]) as relay:
        with Communicator(relay.url, retry=NO_WAIT) as relayed:
            assert relayed.folder_get(token, folder_id)['folder_id'] == folder_id
    assert relay.cuts == [AMONG_THE_HEADERS]
    assert len([c for c in server.calls if c.method == 'midas.folder.get']) == 2


def test_an_answer_cut_among_its_headers_is_a_broken_connection_for_a_changing_method(
        server, comm, token):
    folder_id = private_folder(comm, token)
    with CuttingRelay(server.url, plan=[AMONG_THE_HEADERS]) as relay:
        with Communicator(relay.url, retry=NO_WAIT) as relayed:
            with pytest.raises(exceptions.RequestError) as exc_info:
                relayed.create_folder(token, 'once', folder_id)
    assert isinstance(exc_info.value.__cause__, requests.exceptions.ChunkedEncodingError)
    assert relay.cuts == [AMONG_THE_HEADERS]
    assert len([c for c in server.calls if c.method == 'midas.folder.create']) == 1
