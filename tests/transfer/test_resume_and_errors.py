"""Broken connections, expired tokens and failures in the middle of transfers."""

import hashlib
import os
import threading

import pytest

from pydas.exceptions import TokenRenewalFailed, TransferError

from midas_calls import calls_of

from .helpers import bitstream_gets, offset_of, read_tree, write_tree

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
    # Two reads that agree: no earlier request still adds to the partial.
    assert len(calls_of(midas_server, 'midas.upload.getoffset')) == 2
    # The server kept the first MiB: only the rest was sent again.
    assert int(performs[1].headers['Content-Length']) == SIZE - 1024 * 1024
    assert performs[1].query['length'] == str(SIZE)


def test_upload_whose_answer_is_lost_is_not_repeated(midas_server, client, tmp_path):
    write_tree(str(tmp_path), {'small.bin': b'complete' * 100})
    midas_server.faults.cut_response(5, method='midas.upload.perform')

    client.upload(str(tmp_path / 'small.bin'))

    # The item read back shows the upload completed: nothing is sent again.
    assert len(calls_of(midas_server, 'midas.upload.perform')) == 1
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
    # One GET of the download controller per attempt, no API call; the second one
    # resumes exactly where the connection was cut.
    assert [offset_of(call) for call in bitstream_gets(midas_server)] == [0, 1024 * 1024]
    assert calls_of(midas_server, 'midas.bitstream.download') == []
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
    # Each of the 3 attempts: the download controller's GET fails, then the API call.
    midas_server.faults.fail_next(count=6, status=500, method='midas.bitstream.download')

    with pytest.raises(TransferError) as raised:
        client.download('/users/Ada_Lovelace/Private/tree', str(tmp_path / 'down'), jobs=1)

    failed = os.path.join(str(tmp_path / 'down'), 'tree', 'a.txt')
    assert [failure.path for failure in raised.value.failures] == [failed]
    assert not os.path.exists(failed)
    assert read_tree(str(tmp_path / 'down' / 'tree')).get('b.txt') == b'b'
    assert raised.value.result.transferred == [os.path.join(str(tmp_path / 'down'), 'tree',
                                                            'b.txt')]


def test_unavailable_download_controller_is_retried_not_bypassed(midas_server, client,
                                                                 tmp_path):
    write_tree(str(tmp_path / 'up'), {'a.txt': b'a' * 1000})
    client.upload(str(tmp_path / 'up' / 'a.txt'))
    midas_server.clear_calls()
    # A 503 is no refusal: the transport retries the GET (4 tries), then the transfer
    # tries the file again; the API call, a fallback for refusals only, is never made.
    midas_server.faults.fail_next(count=4, status=503, method='midas.bitstream.download')

    client.download('/users/Ada_Lovelace/Private/a.txt', str(tmp_path / 'down'))

    assert read_tree(str(tmp_path / 'down')) == {'a.txt': b'a' * 1000}
    assert len(bitstream_gets(midas_server)) == 5
    assert calls_of(midas_server, 'midas.bitstream.download') == []


def test_failed_download_resumes_on_the_next_run(midas_server, client, tmp_path):
    write_tree(str(tmp_path / 'up'), {'big.bin': CONTENT})
    client.upload(str(tmp_path / 'up' / 'big.bin'))
    # Cut inside a chunk (chunks are 1 MiB): every byte that arrived must be kept. Then
    # two attempts without progress: the file fails.
    cut = 1024 * 1024 + 1000
    for after in (cut, 0, 0):
        midas_server.faults.cut_response(after, method='midas.bitstream.download')
    down = str(tmp_path / 'down')

    with pytest.raises(TransferError):
        client.download('/users/Ada_Lovelace/Private/big.bin', down, attempts=2)
    assert not os.path.exists(os.path.join(down, 'big.bin'))
    partial = [name for name in os.listdir(down) if name.startswith('.pydas-')]
    assert len(partial) == 1
    held = os.path.getsize(os.path.join(down, partial[0]))
    assert held == cut
    midas_server.clear_calls()

    client.download('/users/Ada_Lovelace/Private/big.bin', down)

    assert os.listdir(down) == ['big.bin']
    assert read_tree(down) == {'big.bin': CONTENT}
    assert [offset_of(call) for call in bitstream_gets(midas_server)] == [held]


def test_files_move_on_several_workers(midas_server, client, tmp_path):
    write_tree(str(tmp_path / 'tree'), {str(number): b'%d' % number for number in range(6)})
    midas_server.faults.delay(0.2, count=6, method='midas.upload.perform')
    threads = set()

    client.upload(str(tmp_path / 'tree'), jobs=3,
                  progress=lambda progress: threads.add(threading.current_thread().name))

    assert 1 < len(threads) <= 3
    assert len(midas_server.query('SELECT * FROM bitstream')) == 6


def test_jobs_must_be_positive(client, tmp_path):
    write_tree(str(tmp_path), {'f': b'f'})
    with pytest.raises(ValueError):
        client.upload(str(tmp_path / 'f'), jobs=0)


def test_corrupt_content_is_never_put_in_place(midas_server, client, tmp_path):
    write_tree(str(tmp_path / 'up'), {'good.bin': b'good' * 1000})
    client.upload(str(tmp_path / 'up' / 'good.bin'))
    stored = midas_server.assetstore_file(hashlib.md5(b'good' * 1000).hexdigest())
    with open(stored, 'wb') as stream:
        stream.write(b'evil' * 1000)
    down = str(tmp_path / 'down')

    with pytest.raises(TransferError) as raised:
        client.download('/users/Ada_Lovelace/Private/good.bin', down)

    assert 'MD5' in str(raised.value)
    assert os.listdir(down) == []
    assert len(bitstream_gets(midas_server)) == 3
