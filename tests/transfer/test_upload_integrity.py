"""Uploads under hostile conditions: cut connections at random bytes, files changing
while they are sent, progress that must not count as failure, changed files as new
revisions. Every test asserts on what the server stores (database and assetstore)."""

import os
import random
import threading
import time

import pytest

from pydas import fileupload
from pydas.exceptions import RequestError, TransferError
from pydas.serverpaths import resolve_destination
from pydas.session import Client

from cutting_relay import UPSTREAM, DOWNSTREAM, CuttingRelay
from midas_calls import calls_of

from .helpers import holds_exactly, md5_of, read_tree, stored_items, write_tree

KiB = 1024
MiB = 1024 * KiB


@pytest.fixture
def quick_settle(monkeypatch):
    """Shorter pauses between the offset reads of a resume (the embedded server stops
    adding to a partial as soon as the connection breaks)."""
    monkeypatch.setattr(fileupload, 'SETTLE_INTERVAL', 0.05)


def new_folder(client, name):
    private = resolve_destination(client, 'Private')
    return client.communicator.create_folder(client.token, name, private)['folder_id']


def random_files(seed, count, sizes):
    generator = random.Random(seed)
    return {'file{0:02d}.bin'.format(number): generator.randbytes(generator.choice(sizes))
            for number in range(count)}


RELAY_RUNS = 20
RELAY_SIZES = (256 * KiB, 512 * KiB, 1 * MiB, 2 * MiB)
# Cut positions: anywhere in the requests (bodies of a few MiB), and in the short answers
# to them, byte 0 included (the server has the whole body, the client never hears back).
RELAY_SPAN = {UPSTREAM: 2 * MiB, DOWNSTREAM: 4 * KiB}


def test_uploads_through_random_cuts_store_every_file_intact(
        midas_server, ada, tmp_path, quick_settle, capsys):
    figures = {'runs': 0, 'cuts': 0, 'files': 0, 'resent': 0}
    for seed in range(RELAY_RUNS):
        files = random_files(seed, 12, RELAY_SIZES)
        source = tmp_path / 'run{0}'.format(seed)
        write_tree(str(source), files)
        with CuttingRelay(midas_server.url, seed=seed, max_cuts=12, span=RELAY_SPAN,
                          probability=1.0, armed=False) as relay:
            with Client(url=relay.url) as client:
                client.login(email=ada['email'], api_key=ada['api_key'])
                folder_id = new_folder(client, 'run{0}'.format(seed))
                relay.armed = True
                result = client.upload(str(source / '*'), jobs=4,
                                       destination='/users/Ada_Lovelace/Private/run{0}'.format(
                                           seed))
        holds_exactly(midas_server, folder_id, files)
        assert not result.failed
        figures['runs'] += 1
        figures['cuts'] += len(relay.cuts)
        figures['files'] += len(files)
        figures['resent'] += result.bytes_transferred - sum(map(len, files.values()))
    with capsys.disabled():
        print('\nupload relay: {runs} runs, {cuts} cuts, {files}/{files} files intact, '
              '0 corrupted, 0 failed, {resent} bytes sent again'.format(**figures))
    assert figures['cuts'] >= 3 * RELAY_RUNS


def test_attempts_that_make_progress_do_not_count(midas_server, client, tmp_path,
                                                  quick_settle):
    content = os.urandom(6 * MiB)
    write_tree(str(tmp_path), {'big.bin': content})
    for _ in range(5):  # each attempt gets 1 MiB further than the one before
        midas_server.faults.cut_request(MiB, method='midas.upload.perform')

    result = client.upload(str(tmp_path / 'big.bin'), attempts=2)

    assert result.transferred == [str(tmp_path / 'big.bin')]
    assert len(calls_of(midas_server, 'midas.upload.perform')) == 6
    holds_exactly(midas_server, _private_id(client), {'big.bin': content})


def test_a_file_fails_after_attempts_in_a_row_without_progress(midas_server, client,
                                                               tmp_path, quick_settle):
    write_tree(str(tmp_path), {'big.bin': os.urandom(2 * MiB)})
    for _ in range(3):
        midas_server.faults.cut_request(0, method='midas.upload.perform')

    with pytest.raises(Exception) as raised:
        client.upload(str(tmp_path / 'big.bin'), attempts=2)

    assert len(raised.value.result.failed) == 1
    assert len(calls_of(midas_server, 'midas.upload.perform')) == 2


@pytest.mark.parametrize('attempts, error', [(0, ValueError), (-1, ValueError),
                                             ('3', TypeError), (1.5, TypeError)])
def test_attempts_below_one_or_not_an_int_are_refused(client, tmp_path, attempts, error):
    write_tree(str(tmp_path), {'a.txt': b'a'})
    with pytest.raises(error, match='attempts'):
        client.upload(str(tmp_path / 'a.txt'), attempts=attempts)


def _private_id(client):
    return resolve_destination(client, 'Private')


# Files changing while they are sent ---------------------------------------------------

def _change_once(path, after_bytes, change):
    """A progress callback that applies ``change(path)`` once ``after_bytes`` were sent."""
    state = {'done': False}

    def progress(update):
        if not state['done'] and update.bytes_done >= after_bytes:
            state['done'] = True
            change(path)
    return progress


def _rewrite(path):
    size = os.path.getsize(path)
    with open(path, 'r+b') as stream:
        stream.write(os.urandom(size))


def _rewrite_while(path, running):
    """Rewrite the file again and again while ``running`` is set (for 30 s at most)."""
    deadline = time.monotonic() + 30
    while running.is_set() and time.monotonic() < deadline:
        _rewrite(path)


def _truncate(path):
    with open(path, 'r+b') as stream:
        stream.truncate(4 * MiB)


def _append(path):
    with open(path, 'ab') as stream:
        stream.write(os.urandom(MiB))


@pytest.mark.parametrize('change', [_rewrite, _truncate, _append],
                         ids=['rewritten', 'truncated', 'appended'])
def test_a_file_changed_while_sent_is_sent_again_as_it_is_now(midas_server, client, tmp_path,
                                                              change):
    path = tmp_path / 'scan.bin'
    write_tree(str(tmp_path), {'scan.bin': os.urandom(8 * MiB)})

    # Two attempts: the first sees the change, the second must send the file as it is now.
    result = client.upload(str(path), progress=_change_once(str(path), 2 * MiB, change),
                           attempts=2)

    assert result.transferred == [str(path)]
    # Exactly the content the file has now: one revision, one bitstream.
    items = stored_items(midas_server, _private_id(client))
    current = path.read_bytes()
    assert items == {'scan.bin': [[('scan.bin', len(current), md5_of(current),
                                    md5_of(current))]]}


def test_a_file_that_keeps_changing_fails_and_leaves_no_bad_content(
        midas_server, client, tmp_path):
    path = tmp_path / 'scan.bin'
    write_tree(str(tmp_path), {'scan.bin': os.urandom(4 * MiB)})
    uploading = threading.Event()
    uploading.set()
    rewriter = threading.Thread(target=_rewrite_while, args=(str(path), uploading))
    rewriter.start()
    try:
        with pytest.raises(TransferError) as raised:
            client.upload(str(path), attempts=2)
    finally:
        uploading.clear()
        rewriter.join()

    assert 'changed while' in str(raised.value.result.failed[0].reason)
    for revisions in stored_items(midas_server, _private_id(client)).values():
        assert all(bitstreams == [] for bitstreams in revisions)


# Re-uploads with reuse_existing ---------------------------------------------------------

def test_a_changed_file_becomes_a_new_revision(midas_server, client, tmp_path):
    write_tree(str(tmp_path / 'up'), {'notes.txt': b'version 1'})
    client.upload(str(tmp_path / 'up' / 'notes.txt'), reuse_existing=True)
    write_tree(str(tmp_path / 'up'), {'notes.txt': b'version 2, longer'})

    result = client.upload(str(tmp_path / 'up' / 'notes.txt'), reuse_existing=True)

    assert result.transferred == [str(tmp_path / 'up' / 'notes.txt')]
    items = stored_items(midas_server, _private_id(client))
    assert [[bitstream[:2] for bitstream in revision] for revision in items['notes.txt']] == [
        [('notes.txt', 9)], [('notes.txt', 17)]]
    client.download('/users/Ada_Lovelace/Private/notes.txt', str(tmp_path / 'down'))
    assert read_tree(str(tmp_path / 'down')) == {'notes.txt': b'version 2, longer'}


def test_an_identical_file_is_skipped_as_identical(midas_server, client, tmp_path):
    write_tree(str(tmp_path), {'notes.txt': b'same'})
    client.upload(str(tmp_path / 'notes.txt'), reuse_existing=True)
    midas_server.clear_calls()

    result = client.upload(str(tmp_path / 'notes.txt'), reuse_existing=True)

    assert result.unchanged == [str(tmp_path / 'notes.txt')] and not result.transferred
    assert not calls_of(midas_server, 'midas.upload.perform')
    assert len(stored_items(midas_server, _private_id(client))['notes.txt']) == 1


def test_a_changed_leaf_folder_gets_a_new_revision_with_the_current_files(
        midas_server, client, tmp_path):
    write_tree(str(tmp_path / 'series'), {'1.dcm': b'one', '2.dcm': b'two', '3.dcm': b'3'})
    client.upload(str(tmp_path / 'series'), leaf_folders_as_items=True, reuse_existing=True)
    write_tree(str(tmp_path / 'series'), {'2.dcm': b'two, again'})
    os.remove(str(tmp_path / 'series' / '3.dcm'))
    midas_server.clear_calls()

    client.upload(str(tmp_path / 'series'), leaf_folders_as_items=True, reuse_existing=True)

    revisions = stored_items(midas_server, _private_id(client))['series']
    assert len(revisions) == 2
    assert sorted(bitstream[:2] for bitstream in revisions[-1]) == [
        ('1.dcm', 3), ('2.dcm', 10)]
    # The unchanged file's content was not sent again.
    assert len(calls_of(midas_server, 'midas.upload.perform')) == 1
    client.download('/users/Ada_Lovelace/Private/series', str(tmp_path / 'down'))
    assert read_tree(str(tmp_path / 'down')) == {'series/1.dcm': b'one',
                                                 'series/2.dcm': b'two, again'}


def test_an_item_created_for_a_file_that_failed_with_nothing_to_resume_is_deleted(
        midas_server, client, tmp_path):
    write_tree(str(tmp_path), {'a.txt': b'a'})
    midas_server.faults.fail_next(count=10, status=503, method='midas.upload.generatetoken')

    with pytest.raises(TransferError):
        client.upload(str(tmp_path / 'a.txt'), attempts=2)

    assert stored_items(midas_server, _private_id(client)) == {}
    midas_server.faults.clear()
    client.upload(str(tmp_path / 'a.txt'))
    holds_exactly(midas_server, _private_id(client), {'a.txt': b'a'})


def test_a_new_revision_whose_file_changed_while_sent_is_filled_again_not_added_twice(
        midas_server, client, tmp_path):
    path = tmp_path / 'scan.bin'
    write_tree(str(tmp_path), {'scan.bin': b'first version'})
    client.upload(str(path), reuse_existing=True)
    write_tree(str(tmp_path), {'scan.bin': os.urandom(8 * MiB)})

    client.upload(str(path), reuse_existing=True,
                  progress=_change_once(str(path), 2 * MiB, _rewrite))

    current = path.read_bytes()
    revisions = stored_items(midas_server, _private_id(client))['scan.bin']
    assert revisions == [[('scan.bin', 13, md5_of(b'first version'), md5_of(b'first version'))],
                         [('scan.bin', len(current), md5_of(current), md5_of(current))]]


# A server still appending an earlier attempt ------------------------------------------

def _lagging_cut(server):
    """The next upload is cut after 3 MiB, and the server appends the last MiB it had
    received over the 0.6 s after the cut (as a real Midas does)."""
    server.faults.lag_after_cut(held_bytes=MiB, duration=0.6, steps=6)
    server.faults.cut_request(3 * MiB, method='midas.upload.perform')


def test_a_resume_at_once_would_corrupt_a_lagging_servers_partial(
        midas_server, client, tmp_path):
    content = os.urandom(8 * MiB)
    write_tree(str(tmp_path), {'scan.bin': content})
    communicator, token = client.communicator, client.token
    item_id = communicator.create_item(token, 'scan.bin', _private_id(client))['item_id']
    upload_token = communicator.generate_upload_token(token, item_id, 'scan.bin')
    _lagging_cut(midas_server)
    with pytest.raises(RequestError):
        communicator.perform_upload(upload_token, 'scan.bin', filepath=str(path_of(tmp_path)))

    # What a client resuming at once sees and does:
    offset = communicator.get_upload_offset(upload_token)
    assert offset < 3 * MiB  # the server still holds back bytes it received
    communicator.perform_upload(upload_token, 'scan.bin', filepath=str(path_of(tmp_path)),
                                offset=offset)

    # The bytes held back and the resent ones both went in: the file is stored wrong.
    [[(name, size, recorded_md5, stored_md5)]] = stored_items(
        midas_server, _private_id(client))['scan.bin']
    assert recorded_md5 == stored_md5 != md5_of(content)


def path_of(tmp_path):
    return tmp_path / 'scan.bin'


def test_uploads_resume_only_once_a_lagging_server_stopped_appending(
        midas_server, client, tmp_path):
    content = os.urandom(8 * MiB)
    write_tree(str(tmp_path), {'scan.bin': content})
    _lagging_cut(midas_server)

    result = client.upload(str(path_of(tmp_path)))

    assert result.transferred == [str(path_of(tmp_path))]
    holds_exactly(midas_server, _private_id(client), {'scan.bin': content})
    performs = calls_of(midas_server, 'midas.upload.perform')
    assert len(performs) == 2
    # It went on from all the server held once settled: more than the 2 MiB it held
    # at the moment of the cut.
    assert int(performs[1].headers['Content-Length']) <= len(content) - 3 * MiB


@pytest.mark.parametrize('claimed', ['more than the file', 'less than before'])
def test_a_partial_the_server_holds_wrongly_is_abandoned_for_a_fresh_token(
        midas_server, client, tmp_path, quick_settle, monkeypatch, claimed):
    content = os.urandom(6 * MiB)
    write_tree(str(tmp_path), {'scan.bin': content})
    midas_server.faults.cut_request(3 * MiB, method='midas.upload.perform')
    midas_server.faults.cut_request(2 * MiB, method='midas.upload.perform')
    real_offset = type(client.communicator.drivers[0]).get_upload_offset
    answers = []

    # No server of ours misbehaves so: what a broken one could answer, after the first cut
    # (more than the file holds) or the second (less than it said before).
    def offset(driver, upload_token):
        held = real_offset(driver, upload_token)
        answers.append(held)
        if claimed == 'more than the file' and len(answers) <= 2:
            return len(content) + 1
        if claimed == 'less than before' and 2 < len(answers) <= 4:
            return 1024
        return held

    monkeypatch.setattr(type(client.communicator.drivers[0]), 'get_upload_offset', offset)

    client.upload(str(tmp_path / 'scan.bin'))

    holds_exactly(midas_server, _private_id(client), {'scan.bin': content})
    tokens = calls_of(midas_server, 'midas.upload.generatetoken')
    assert len(tokens) == 2  # the second a fresh one, its upload from byte 0
    # More than the file: the fresh upload was cut after 2 MiB and resumed from there.
    # Less than before: the fresh upload sent the whole file at once.
    last = calls_of(midas_server, 'midas.upload.perform')[-1]
    assert int(last.headers['Content-Length']) == {
        'more than the file': len(content) - 2 * MiB, 'less than before': len(content)}[claimed]


def test_a_finished_upload_leaves_nothing_for_a_later_run_to_go_on_with(
        midas_server, client, tmp_path):
    write_tree(str(tmp_path), {'a.txt': b'same content', 'b.txt': b'same content'})
    client.upload(str(tmp_path / 'a.txt'))
    client.upload(str(tmp_path / 'b.txt'))  # found on the server: not sent

    client.upload(str(tmp_path / 'b.txt'))

    # Without reuse_existing, a new item each time, as in the original.
    names = sorted(stored_items(midas_server, _private_id(client)))
    assert names == ['a.txt', 'b.txt', 'b.txt (1)']


def test_a_file_changed_after_the_server_attached_its_old_content_is_sent_as_it_is_now(
        midas_server, client, tmp_path, monkeypatch):
    write_tree(str(tmp_path), {'old.txt': b'old content', 'scan.txt': b'old content'})
    client.upload(str(tmp_path / 'old.txt'))
    path = tmp_path / 'scan.txt'
    driver = type(client.communicator.drivers[0])

    # The file is rewritten right after the server attached the content it had hashed to:
    # a moment no server can be asked to hit.
    def then_rewrite(generate):
        def generate_then_rewrite(communicator, *args, **kwargs):
            answer = generate(communicator, *args, **kwargs)
            if not path.read_bytes().startswith(b'new'):
                path.write_bytes(b'new content, longer')
            return answer
        return generate_then_rewrite

    for name in ('generate_upload_token', 'generate_upload_token_for_new_item'):
        monkeypatch.setattr(driver, name, then_rewrite(getattr(driver, name)))

    client.upload(str(path), attempts=2)

    revisions = stored_items(midas_server, _private_id(client))['scan.txt']
    new = b'new content, longer'
    assert revisions[-1] == [('scan.txt', len(new), md5_of(new), md5_of(new))]


def test_a_server_stalling_longer_than_the_settling_is_caught_and_repaired(
        midas_server, client, tmp_path):
    content = os.urandom(8 * MiB)
    write_tree(str(tmp_path), {'scan.bin': content})
    # The bytes held back come in one piece, 1.2 s after the cut: after the resume.
    midas_server.faults.lag_after_cut(held_bytes=MiB, duration=1.2, steps=1)
    midas_server.faults.cut_request(3 * MiB, method='midas.upload.perform')

    result = client.upload(str(path_of(tmp_path)))

    assert result.transferred == [str(path_of(tmp_path))]
    holds_exactly(midas_server, _private_id(client), {'scan.bin': content})


def test_a_new_item_for_content_the_server_holds_is_found_under_the_name_it_got(
        midas_server, client, tmp_path):
    write_tree(str(tmp_path), {'a.txt': b'same content'})
    client.upload(str(tmp_path / 'a.txt'))
    midas_server.clear_calls()

    result = client.upload(str(tmp_path / 'a.txt'))  # a new item, named "a.txt (1)"

    [renamed] = midas_server.query("SELECT item_id FROM item WHERE name = 'a.txt (1)'")
    assert [item_id for _, item_id in result.items] == [str(renamed['item_id'])]
    assert result.unchanged == [str(tmp_path / 'a.txt')]
    # One call made the item and attached the content; nothing was sent.
    assert not calls_of(midas_server, 'midas.item.create')
    assert not calls_of(midas_server, 'midas.upload.perform')
