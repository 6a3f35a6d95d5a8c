"""Downloads through a relay cutting connections at seeded random byte positions."""

import hashlib
import os
import random

from pydas.core import Communicator
from pydas.exceptions import TransferError
from pydas.session import Client
from pydas.transport import Retry

from cutting_relay import DOWNSTREAM, UPSTREAM, CuttingRelay

from .downloads import md5_of, temporary_files, upload_tree

RUNS = 20
FILES = 12
KIB = 1024
# The calls a cut broke are retried as usual, only sooner.
QUICK_RETRIES = Retry(backoff_factor=0.05)


def sizes(seed):
    """Twelve sizes from 256 KiB to 8 MiB, a few MiB in all: mostly small, one large."""
    chooser = random.Random(seed)
    small = [chooser.randrange(256 * KIB, 320 * KIB) for _ in range(FILES - 1)]
    return small + [chooser.randrange(2 * 1024 * KIB, 8 * 1024 * KIB)]


def test_cut_connections_never_corrupt_nor_fail_a_download(midas_server, client, ada,
                                                           tmp_path):
    contents = {'cuts/file{0:02d}.bin'.format(index): os.urandom(size)
                for index, size in enumerate(sizes(8))}
    upload_tree(client, tmp_path / 'up', contents)
    expected = {name.split('/')[1]: hashlib.md5(data).hexdigest()
                for name, data in contents.items()}
    figures = dict(runs=0, cuts=0, cuts_in_answers=0, files_intact=0, corrupted=0,
                   failed=0, resumed=0)

    for seed in range(RUNS):
        target = tmp_path / 'down{0}'.format(seed)
        # Cuts below 3 MiB of answers land anywhere in the bodies; those of a request
        # below 400 bytes hit the GET itself.
        span = {UPSTREAM: 400, DOWNSTREAM: 3072 * KIB}
        with CuttingRelay(midas_server.url, seed=seed, max_cuts=8, span=span,
                          armed=False) as relay, Client(communicator=Communicator(
                              relay.url, retry=QUICK_RETRIES)) as through_relay:
            through_relay.login(email=ada['email'], api_key=ada['api_key'])
            relay.armed = True
            try:
                result = through_relay.download('/users/Ada_Lovelace/Private/cuts',
                                                str(target))
            except TransferError as error:
                result = error.result
        got = {name: md5_of(str(target / 'cuts' / name))
               for name in os.listdir(str(target / 'cuts'))}
        figures['runs'] += 1
        figures['cuts'] += len(relay.cuts)
        figures['cuts_in_answers'] += sum(direction == DOWNSTREAM for direction, _ in relay.cuts)
        figures['files_intact'] += sum(got.get(name) == md5 for name, md5 in expected.items())
        figures['corrupted'] += sum(got[name] != expected.get(name) for name in got)
        figures['failed'] += len(result.failed)
        figures['resumed'] += len(result.resumed)
        assert result.failed == [], (seed, relay.cuts)
        assert got == expected, (seed, relay.cuts)
        assert temporary_files(target) == []

    print('cut downloads: {runs} runs, {cuts} cuts ({cuts_in_answers} in answers), '
          '{files_intact} files intact, {corrupted} corrupted, {failed} failed, '
          '{resumed} resumed'.format(**figures))
    assert figures['files_intact'] == RUNS * FILES
    # The relay did cut, often in the middle of bodies, and downloads went on from there.
    assert figures['cuts'] >= RUNS and figures['cuts_in_answers'] and figures['resumed']
