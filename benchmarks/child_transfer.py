"""One pydas transfer in a child process, so its peak memory is pydas's alone.

Used by ``bench_client.py``; prints one JSON line: ``seconds``, ``cpu_seconds``,
``start_mib`` (RSS after imports and login), ``peak_mib`` / ``growth_mib`` (peak RSS
during the transfer) and ``rchar`` (bytes the process read meanwhile: files and sockets,
from ``/proc/self/io``).

Modes::

    api-upload URL EMAIL API_KEY PATH DESTINATION JOBS [reuse]  pydas.upload
    api-download URL EMAIL API_KEY SERVER_PATH OUT_DIR JOBS     pydas.download

``JOBS`` is a number or ``default`` (no ``jobs`` option); ``reuse`` adds
``reuse_existing=True``. Downloads may write into existing directories.
    driver-upload URL EMAIL API_KEY PATH ITEM_ID              generate_upload_token + perform_upload
    driver-download URL EMAIL API_KEY BITSTREAM_ID OUT_PATH   download_bitstream
"""

import json
import os
import sys

import common


def api_transfer(mode, url, email, api_key, source, target, jobs, *flags):
    import pydas.api

    pydas.api.login(email=email, api_key=api_key, url=url)
    # A re-run downloads into the directory a run before filled.
    pydas.api.allow_existing_download_paths()
    options = {} if jobs == 'default' else dict(jobs=int(jobs))
    if 'reuse' in flags:
        options['reuse_existing'] = True
    with common.ProcessWatch(os.getpid()) as process, common.Stopwatch() as watch:
        if mode == 'api-upload':
            pydas.api.upload(source, destination=target, **options)
        else:
            pydas.api.download(source, local_path=target, **options)
    return watch, process


def driver_transfer(mode, url, email, api_key, source, target):
    from pydas.core import Communicator

    communicator = Communicator(url)
    token = communicator.login_with_api_key(email, api_key)
    with common.ProcessWatch(os.getpid()) as process, common.Stopwatch() as watch:
        if mode == 'driver-upload':
            name = os.path.basename(source)
            upload_token = communicator.generate_upload_token(token, target, name)
            communicator.perform_upload(upload_token, name, filepath=source, item_id=target)
        else:
            _, chunks = communicator.download_bitstream(source, token=token)
            with open(target, 'wb') as out:
                for chunk in chunks:
                    out.write(chunk)
    communicator.close()
    return watch, process


def main(argv):
    mode = argv[0]
    if mode.startswith('api-'):
        watch, process = api_transfer(*argv)
    else:
        watch, process = driver_transfer(*argv)
    print(json.dumps(dict(seconds=watch.seconds, cpu_seconds=process.cpu_seconds,
                          start_mib=process.start_mib, peak_mib=process.peak_mib,
                          growth_mib=process.growth_mib,
                          rchar=process.rchar)))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
