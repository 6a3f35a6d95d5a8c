"""``pydas demo``: a verified round trip of a sample dataset through an embedded server.

The demo starts an embedded Midas server, logs in with a password, writes a
sample dataset (nested folders, a DICOM-like series in a leaf folder that is
uploaded as one item, a volume of a few megabytes), uploads it, lists it on
the server, downloads it to a new directory and compares every byte. Each
step is told on the output stream; everything happens in a temporary
directory that is removed at the end.
"""

import hashlib
import os
import random
import tempfile
import time

from pydas import progressbar
from pydas.session import Client
from pydas.testing import MidasServer

STEPS = 7

#: The sample dataset: relative path -> size in bytes (content is pseudo-random).
SAMPLE_FILES = dict(
    [('dataset/README.txt', 600),
     ('dataset/volume.raw', 4 * 1024 * 1024),
     ('dataset/patient01/report.txt', 2000)] +
    [('dataset/patient01/series01/slice{0:03d}.dcm'.format(number), 128 * 1024)
     for number in range(1, 13)])


def run(out, progress_stream, quiet=False):
    """Run the demo, telling each step on ``out``.

    :param out: text stream for the account of each step
    :param progress_stream: text stream for the progress bars (normally stderr)
    :param quiet: if True, show no progress bars
    :type quiet: bool
    :returns: True if every byte came back intact
    :rtype: bool
    """
    with tempfile.TemporaryDirectory(prefix='pydas-demo-') as workdir:
        with MidasServer(data_dir=os.path.join(workdir, 'server')) as server, \
                Client(url=server.url) as client:
            step(out, 1, 'Started an embedded Midas server at {0} (Midas {1}).'.format(
                server.url, client.communicator.get_server_version()))
            return round_trip(out, progress_stream, quiet, server, client, workdir)


def round_trip(out, progress_stream, quiet, server, client, workdir):
    """Steps 2 to 7: log in, create, upload, list, download, verify."""
    client.login(email=server.admin_email, password=server.admin_password)
    step(out, 2, 'Logged in as {0}: the password fetched the API key, which got a '
                 'session token.'.format(server.admin_email))

    source = os.path.join(workdir, 'source')
    create_dataset(source)
    step(out, 3, 'Created a sample dataset of {0} files ({1}) in {2}:'.format(
        len(SAMPLE_FILES), progressbar.human_size(sum(SAMPLE_FILES.values())), source))
    show_tree(out, source)

    started = time.monotonic()
    with progressbar.reporter(progress_stream, quiet) as progress:
        result = client.upload(os.path.join(source, 'dataset'), destination='Private',
                               leaf_folders_as_items=True, jobs=4, progress=progress)
    step(out, 4, 'Uploaded it to your Private folder, the leaf folder series01 as one item:')
    out.write('        {0}\n'.format(
        progressbar.summary('upload', result, time.monotonic() - started)))

    dataset_folder = find_dataset_folder(client)
    step(out, 5, 'On the server, Private/dataset holds:')
    show_server_tree(out, client, dataset_folder)

    restored = os.path.join(workdir, 'restored')
    os.mkdir(restored)
    started = time.monotonic()
    with progressbar.reporter(progress_stream, quiet) as progress:
        result = client.download_folder_recursive(dataset_folder['folder_id'],
                                                  restored, jobs=4, progress=progress)
    step(out, 6, 'Downloaded it to {0}:'.format(restored))
    out.write('        {0}\n'.format(
        progressbar.summary('download', result, time.monotonic() - started)))

    differences = compare_trees(source, restored)
    if differences:
        step(out, 7, 'Verification FAILED:')
        for difference in differences:
            out.write('        {0}\n'.format(difference))
        return False
    step(out, 7, 'Verified: all {0} files came back, every byte identical.'.format(
        len(SAMPLE_FILES)))
    return True


def step(out, number, text):
    """Tell one step of the demo."""
    out.write('[{0}/{1}] {2}\n'.format(number, STEPS, text))
    out.flush()


def create_dataset(root):
    """Write :data:`SAMPLE_FILES` under ``root`` with reproducible content."""
    generator = random.Random(2026)
    for relative, size in sorted(SAMPLE_FILES.items()):
        path = os.path.join(root, *relative.split('/'))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as sample:
            sample.write(generator.randbytes(size))


def show_tree(out, root):
    """Write the local tree under ``root``, indented, with file sizes."""
    for directory, subdirectories, files in os.walk(root):
        subdirectories.sort()
        depth = os.path.relpath(directory, root).count(os.sep)
        if directory != root:
            out.write('        {0}{1}/\n'.format('  ' * depth, os.path.basename(directory)))
        for name in sorted(files):
            size = os.path.getsize(os.path.join(directory, name))
            out.write('        {0}{1} ({2})\n'.format(
                '  ' * (depth + 1), name, progressbar.human_size(size)))


def find_dataset_folder(client):
    """Return the uploaded ``dataset`` folder of the user's Private folder."""
    communicator, token = client.communicator, client.token
    private = next(folder for folder in communicator.list_user_folders(token)
                   if folder['name'] == 'Private')
    children = communicator.folder_children(token, private['folder_id'])
    return next(folder for folder in children['folders'] if folder['name'] == 'dataset')


def show_server_tree(out, client, folder, depth=1):
    """Write the server tree under ``folder``: folders, then items with their sizes."""
    children = client.communicator.folder_children(client.token, folder['folder_id'])
    for child in children['folders']:
        out.write('        {0}{1}/\n'.format('  ' * depth, child['name']))
        show_server_tree(out, client, child, depth + 1)
    for item in children['items']:
        out.write('        {0}{1} (item, {2})\n'.format(
            '  ' * depth, item['name'], progressbar.human_size(int(item['sizebytes'] or 0))))


def compare_trees(original, copy):
    """Return the differences between two directory trees (empty when identical).

    :rtype: list[string]
    """
    original_files, copied_files = digests(original), digests(copy)
    differences = ['missing: {0}'.format(path)
                   for path in sorted(set(original_files) - set(copied_files))]
    differences += ['unexpected: {0}'.format(path)
                    for path in sorted(set(copied_files) - set(original_files))]
    differences += ['content differs: {0}'.format(path)
                    for path in sorted(set(original_files) & set(copied_files))
                    if original_files[path] != copied_files[path]]
    return differences


def digests(root):
    """Return relative path -> SHA-256 of every file under ``root``."""
    result = {}
    for directory, _, files in os.walk(root):
        for name in files:
            path = os.path.join(directory, name)
            with open(path, 'rb') as stream:
                digest = hashlib.sha256()
                for chunk in iter(lambda: stream.read(1024 * 1024), b''):
                    digest.update(chunk)
            result[os.path.relpath(path, root).replace(os.sep, '/')] = digest.hexdigest()
    return result
