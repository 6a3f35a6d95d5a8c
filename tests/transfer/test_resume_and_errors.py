"""Broken connections, expired tokens and failures in the middle of transfers."""

import hashlib
import os

import pytest

from pydas.transfer import TokenRenewalFailed, TransferError

from .helpers import calls_of, read_tree, write_tree

SIZE = 3 * 1024 * 1024
CONTENT = os.urandom(SIZE)
MD5 = hashlib.md5(CONTENT).hexdigest()


def stored_bytes(server, checksum):
    with open(server.assetstore_file(checksum), 'rb') as stream:
        return stream.read()


def test_upload_resumes_after_a_cut_connection(midas_server, client, tmp_path):
    write_tree(str(tmp_path), {'big.bin': CONTENT})
    midas_server.faults.cut_request(1024 * 1024, method='midas.upload.perform')

    client.upload(str(tmp_path / 'big.bin'))

    assert stored_bytes(midas_server, MD5) == CONTENT
    assert [row['checksum'] for row in midas_server.query('SELECT checksum FROM bitstream')] \
        == [MD5]
    performs = calls_of(midas_server, 'midas.upload.perform')
    assert len(performs) == 2
    assert len(calls_of(midas_server, 'midas.upload.getoffset')) == 1
    # The server kept the first MiB: only the rest was sent again.
    assert int(performs[1].headers['Content-Length']) == SIZE - 1024 * 1024
    assert performs[1].query['length'] == str(SIZE)


def test_upload_whose_answer_is_lost_is_not_repeated(midas_server, client, tmp_path):
    write_tree(str(tmp_path), {'small.bin': b'complete' * 100})
    midas_server.faults.cut_response(5, method='midas.upload.perform')

    client.upload(str(tmp_path / 'small.bin'))

    rows = midas_server.query('SELECT name, checksum FROM bitstream')
    assert [(row['name'], row['checksum']) for row in rows] == [
        ('small.bin', hashlib.md5(b'complete' * 100).hexdigest())]


def test_download_resumes_after_a_cut_connection(midas_server, client, tmp_path):
    write_tree(str(tmp_path / 'up'), {'big.bin': CONTENT})
    client.upload(str(tmp_path / 'up' / 'big.bin'))
    midas_server.clear_calls()
    midas_server.faults.cut_response(1024 * 1024, method='midas.bitstream.download')

    result = client.download('/users/Ada_Lovelace/Private/big.bin', str(tmp_path / 'down'))

    assert read_tree(str(tmp_path / 'down')) == {'big.bin': CONTENT}
    offsets = [int(call.form.get('offset') or call.query.get('offset') or 0)
               for call in calls_of(midas_server, 'midas.bitstream.download')]
    assert len(offsets) == 2 and offsets[0] == 0 and 0 < offsets[1] <= 1024 * 1024
    assert result.bytes_transferred == SIZE


def test_token_expiring_during_transfers_is_renewed(midas_server, client, tmp_path):
    write_tree(str(tmp_path / 'up' / 'tree'), {'1': b'one', '2': b'two', '3': b'three'})
    client.add_item_upload_callback(lambda *args: midas_server.expire_tokens())
    client.add_item_download_callback(lambda *args: midas_server.expire_tokens())
    midas_server.clear_calls()

    client.upload(str(tmp_path / 'up' / 'tree'), jobs=1)
    client.download('/users/Ada_Lovelace/Private/tree', str(tmp_path / 'down'), jobs=1)

    assert read_tree(str(tmp_path / 'down')) == read_tree(str(tmp_path / 'up'))
    assert len(calls_of(midas_server, 'midas.login')) >= 4


def test_refused_renewal_stops_the_transfer_at_once(midas_server, client, tmp_path):
    write_tree(str(tmp_path / 'tree'), {name: name.encode() for name in 'abcdef'})

    def expire_and_break_key(*args):
        client.api_key = 'not-the-key'
        midas_server.expire_tokens()
    client.add_item_upload_callback(expire_and_break_key)
    midas_server.clear_calls()

    with pytest.raises(TokenRenewalFailed):
        client.upload(str(tmp_path / 'tree'), jobs=1)
    assert len(calls_of(midas_server, 'midas.login')) == 1
    assert len(midas_server.query('SELECT * FROM item')) < 6


def test_failed_upload_is_reported_and_the_rest_goes_on(midas_server, client, tmp_path):
    write_tree(str(tmp_path / 'tree'), {'a.txt': b'a', 'b.txt': b'b', 'c.txt': b'c'})
    midas_server.faults.fail_next(count=3, status=500, method='midas.upload.perform')

    with pytest.raises(TransferError) as raised:
        client.upload(str(tmp_path / 'tree'), jobs=1)

    assert [failure.path for failure in raised.value.failures] == [
        str(tmp_path / 'tree' / 'a.txt')]
    assert str(tmp_path / 'tree' / 'a.txt') in str(raised.value)
    names = [row['name'] for row in midas_server.query('SELECT name FROM bitstream')]
    assert sorted(names) == ['b.txt', 'c.txt']


def test_failed_download_leaves_nothing_under_its_name(midas_server, client, tmp_path):
    write_tree(str(tmp_path / 'up' / 'tree'), {'a.txt': b'a' * 1000, 'b.txt': b'b'})
    client.upload(str(tmp_path / 'up' / 'tree'))
    midas_server.faults.fail_next(count=3, status=500, method='midas.bitstream.download')

    with pytest.raises(TransferError) as raised:
        client.download('/users/Ada_Lovelace/Private/tree', str(tmp_path / 'down'), jobs=1)

    failed = os.path.join(str(tmp_path / 'down'), 'tree', 'a.txt')
    assert [failure.path for failure in raised.value.failures] == [failed]
    assert not os.path.exists(failed)
    assert read_tree(str(tmp_path / 'down' / 'tree')).get('b.txt') == b'b'
    assert raised.value.result.transferred == [os.path.join(str(tmp_path / 'down'), 'tree',
                                                            'b.txt')]
