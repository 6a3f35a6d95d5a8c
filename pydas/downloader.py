"""Downloads: folders and items of a Midas server to local directories and files.

A folder becomes a directory; an item whose revision holds exactly one
bitstream named like the item becomes a file; any other item becomes a
directory of its bitstreams (the layout of the server's own folder archives),
so that an upload with ``leaf_folders_as_items`` followed by a download gives
back the same tree. An item without any bitstream is skipped: no file, no
directory.

Every bitstream is fetched on its own, with one GET of the server's download
controller (the URL ``midas.bitstream.download`` redirects to, see
:meth:`pydas.drivers.CoreDriver.stream_bitstream`), into a temporary file of
its target directory that this run alone writes (see :mod:`pydas.partials`),
checked against the size and MD5 the server records, then renamed into
place: a final name never holds a partial or corrupt file. A local file that
already has the right MD5 is left alone. A broken download resumes from the
bytes already received, in the same run or the next one (a failed or
interrupted file keeps its temporary file), except after a write error such
as a full disk, which removes it. Every local name comes from
:mod:`pydas.localpaths`, so no server-supplied name can write outside the
target directory.
"""

import logging
import os
import stat
import time

from pydas import checksumcache
from pydas.checksums import ReceivingMD5
from pydas.exceptions import IncompleteTransfer, TokenRenewalFailed
from pydas.localpaths import child_path, safe_name, unique_names
from pydas.partials import Targets
from pydas.serverpaths import Resource, resolve
from pydas.retries import DEFAULT_ATTEMPTS, check_attempts, is_retryable, retrying
from pydas.transfer import FileMeter, ProgressMeter, Skipped, TransferResult, finish, interruptible
from pydas.transport import CHUNK_SIZE
from pydas.workers import DEFAULT_JOBS, Countdown, Pace, Stop, TaskRunner

logger = logging.getLogger('pydas')

# Bitstreams created by midas.link.create point to a URL; there is nothing to download.
_LINK_MIMETYPE = 'url'

# What a download needs of a bitstream's record.
_BITSTREAM_KEYS = ('bitstream_id', 'name', 'mimetype', 'sizebytes', 'checksum')

#: Why an item without bitstreams is skipped.
EMPTY_ITEM = 'empty item (no bitstream): nothing created'


class RemoteFolder(object):
    """A server folder and the local directory it goes to."""

    def __init__(self, folder, path):
        self.folder = folder
        self.path = path
        self.folders = []
        self.items = []
        self.listed = False
        self.created = False


def _folders_below(root):
    """``root`` and every folder below it, each before the folders inside it; reversed,
    every folder comes after those inside it, siblings in order (no recursion)."""
    found, pending = [], [root]
    while pending:
        remote = pending.pop()
        found.append(remote)
        pending.extend(remote.folders)
    return found


class RemoteItem(object):
    """A server item and the local file or directory it goes to."""

    __slots__ = ('item_id', 'path', 'item', 'bitstreams', 'links')

    def __init__(self, item_id, path):
        self.item_id = item_id
        self.path = path
        self.item = None
        self.bitstreams = []
        self.links = []

    @property
    def is_file(self):
        """Whether the item is one file (one bitstream named like the item)."""
        return len(self.bitstreams) == 1 and self.bitstreams[0]['name'] == self.item['name']


def download_path(client, server_path, local_path='.', jobs=DEFAULT_JOBS, progress=None,
                  attempts=DEFAULT_ATTEMPTS):
    """Download the folder or item a server path names into a local directory.

    :param client: the client to download with
    :type client: pydas.session.Client
    :param server_path: ``/users/<First>_<Last>/...`` or ``/communities/<Name>/...``, or
        the :class:`pydas.serverpaths.Resource` found already
    :type server_path: string | pydas.serverpaths.Resource
    :param local_path: directory to download into (created if missing)
    :type local_path: string
    :param jobs: files received at once at most (see :class:`pydas.workers.Pace`)
    :type jobs: int
    :param progress: (optional) called with a :class:`pydas.transfer.Progress`
    :type progress: None | callable
    :param attempts: tries per file before it is reported as failed
    :type attempts: int
    :returns: what was downloaded, skipped or found in place already
    :rtype: pydas.transfer.TransferResult
    :raises pydas.exceptions.ServerPathNotFound: if nothing has that path
    :raises FileExistsError: if the folder's directory exists and existing
        download paths are not allowed
    :raises pydas.exceptions.TransferError: if some files failed (the others are downloaded)
    :raises pydas.exceptions.TransferInterrupted: on Ctrl-C, within seconds: the downloads
        in flight are broken off and keep their partial files for a resume
    """
    check_attempts(attempts)
    client.verify_credentials()
    resource = (server_path if isinstance(server_path, Resource)
                else resolve(client, server_path))
    downloader = _Downloader(client, jobs, progress, attempts)
    if resource.kind == 'item':
        return downloader.download_item(resource.id, local_path)
    # Folder callbacks get the folder's whole record, as midas.folder.get gives it.
    listed = None if client.folder_download_callbacks else resource.record
    return downloader.download_folder(resource.id, local_path, listed)


def download_folder(client, folder_id, path='.', jobs=DEFAULT_JOBS, progress=None,
                    attempts=DEFAULT_ATTEMPTS):
    """Download a folder, by id, into a local directory; see :func:`download_path`.

    :param folder_id: id of the folder
    :type folder_id: int | string
    :rtype: pydas.transfer.TransferResult
    """
    check_attempts(attempts)
    client.verify_credentials()
    return _Downloader(client, jobs, progress, attempts).download_folder(folder_id, path)


class _Downloader(object):
    """Lists the tree first (item details on workers), then fetches the bitstreams."""

    def __init__(self, client, jobs, progress, attempts):
        self._client = client
        self._communicator = client.communicator
        self._jobs = jobs
        self._attempts = attempts
        self._result = TransferResult()
        self._meter = ProgressMeter(progress)
        self._stop = Stop()
        self._pace = Pace(jobs)
        self._checksums = checksumcache.default_cache()
        self._targets = Targets()
        self._runner = None
        # The workers, and this thread listing folders meanwhile.
        self._communicator.reserve_connections(jobs + 1)

    def download_folder(self, folder_id, directory, folder=None):
        """Download the folder ``folder_id`` as a directory inside ``directory``.

        ``folder`` is its record when its parent's listing gave it already (one round trip
        fewer); otherwise it is fetched.
        """
        with interruptible(self._result):
            if folder is None:
                folder = self._client.with_token(
                    lambda token: self._communicator.folder_get(token, folder_id))
            os.makedirs(directory, exist_ok=True)
            root = RemoteFolder(folder, child_path(directory, safe_name(folder['name'])))
            with self._phase():
                self._list_tree(root)
            self._count([item for folder in _folders_below(root) for item in folder.items
                         if item.item is not None])
            self._make_directory(root.path, is_folder=True)
            root.created = True
            with self._phase():
                self._fetch_folder(root)
            self._folder_callbacks(root)
        return self._finish()

    def download_item(self, item_id, directory):
        """Download the item ``item_id`` as a file or directory inside ``directory``."""
        with interruptible(self._result):
            os.makedirs(directory, exist_ok=True)
            node = RemoteItem(item_id, None)
            self._describe_item(node)
            node.path = child_path(directory, safe_name(node.item['name']))
            self._count([node])
            with self._phase():
                self._fetch_item(node)
        return self._finish()

    # Listing ---------------------------------------------------------------

    def _list_tree(self, root):
        """List ``root`` and every folder below it, depth first, without recursion (a tree
        of any depth is downloaded)."""
        pending = [root]
        while pending:
            remote = pending.pop()
            self._list_folder(remote)
            pending.extend(reversed(remote.folders))

    def _list_folder(self, remote):
        """List one folder: its items are described on workers, its folders noted."""
        with self._runner.reporting(remote.path):
            children = self._client.with_token(lambda token: self._communicator.folder_children(
                token, remote.folder['folder_id']))
            remote.listed = True
        if not remote.listed:
            return  # the folder failed; its siblings go on
        folders, items = children.get('folders', []), children.get('items', [])
        names = unique_names([(('folder', folder['folder_id']), folder['name'])
                              for folder in folders]
                             + [(('item', item['item_id']), item['name']) for item in items])
        for item in items:
            node = RemoteItem(item['item_id'], child_path(remote.path,
                                                          names[('item', item['item_id'])]))
            remote.items.append(node)
            self._runner.submit(node.path, self._describe_item, node)
        for folder in folders:
            subfolder = RemoteFolder(folder, child_path(remote.path,
                                                        names[('folder', folder['folder_id'])]))
            remote.folders.append(subfolder)

    def _describe_item(self, node):
        """Fetch the item with its revisions; keep the HEAD revision's bitstreams.

        Only what the download needs of them is kept, and the item's whole record only
        for the item callbacks: a listing of many items takes that much less memory.
        """
        item = retrying(
            lambda: self._client.with_token(
                lambda token: self._communicator.item_get(token, node.item_id)),
            self._attempts, node.path or str(node.item_id), stop=self._stop)
        revisions = item.get('revisions') or []
        for bitstream in revisions[-1]['bitstreams'] if revisions else []:
            kept = dict((key, bitstream.get(key)) for key in _BITSTREAM_KEYS)
            (node.links if kept['mimetype'] == _LINK_MIMETYPE else node.bitstreams).append(kept)
        node.item = (item if self._client.item_download_callbacks
                     else {'item_id': item['item_id'], 'name': item['name']})

    def _count(self, items):
        bitstreams = [bitstream for item in items for bitstream in item.bitstreams]
        self._meter.add_files(len(bitstreams),
                              sum(int(bitstream['sizebytes'] or 0) for bitstream in bitstreams))

    # Fetching ----------------------------------------------------------------

    def _fetch_folder(self, root):
        """Fetch the items of ``root`` and of the folders below it, creating their
        directories, depth first, without recursion."""
        pending = [root]
        while pending:
            remote = pending.pop()
            for node in remote.items:
                if node.item is not None:
                    self._fetch_item(node)
            for subfolder in remote.folders:
                if not subfolder.listed:
                    continue
                with self._runner.reporting(subfolder.path):
                    self._make_directory(subfolder.path, is_folder=True)
                    subfolder.created = True
            pending.extend(reversed([subfolder for subfolder in remote.folders
                                     if subfolder.created]))

    def _fetch_item(self, node):
        for link in node.links:
            self._skip(node.path, 'link to {0}, not downloadable'.format(link['name']))
        if not node.bitstreams:
            if not node.links:
                self._skip(node.path, EMPTY_ITEM)
            return
        if node.is_file:
            targets = [(node.bitstreams[0], node.path)]
        else:
            with self._runner.reporting(node.path) as outcome:
                self._make_directory(node.path, is_folder=False)
            if not outcome.succeeded:
                return
            names = unique_names([(('bitstream', bitstream['bitstream_id']), bitstream['name'])
                                  for bitstream in node.bitstreams])
            targets = [(bitstream, child_path(node.path,
                                              names[('bitstream', bitstream['bitstream_id'])]))
                       for bitstream in node.bitstreams]
        countdown = Countdown(len(targets) + 1, lambda: self._item_done(node))
        for bitstream, path in targets:
            self._runner.submit(path, self._fetch_part, bitstream, path, countdown,
                                size=int(bitstream['sizebytes'] or 0))
        countdown.part_done(True)

    def _skip(self, path, reason):
        logger.warning('skipping %s: %s', path, reason)
        with self._meter.lock:
            self._result.skipped.append(Skipped(path, reason))

    def _fetch_part(self, bitstream, path, countdown):
        with self._runner.reporting(path) as outcome:
            self._fetch_bitstream(bitstream, path)
        self._meter.file_done(path)
        countdown.part_done(outcome.succeeded)

    def _item_done(self, node):
        with self._meter.lock:
            self._result.items.append((node.path, node.item_id))
            for callback in self._client.item_download_callbacks:
                callback(self._communicator, self._client.token, node.item, node.path)

    def _folder_callbacks(self, root):
        """Call the folder callbacks, children before parents, as the folders were done."""
        for remote in reversed(_folders_below(root)):
            if remote.created:
                with self._meter.lock:
                    for callback in self._client.folder_download_callbacks:
                        callback(self._communicator, self._client.token, remote.folder,
                                 remote.path)

    def _fetch_bitstream(self, bitstream, path):
        bitstream_id = bitstream['bitstream_id']
        size, checksum = int(bitstream['sizebytes'] or 0), bitstream['checksum'].lower()
        meter = FileMeter(self._meter, path)
        directory, name = os.path.split(path)
        with self._targets.open(directory) as target:
            if self._holds(target, path, size, checksum):
                logger.info('%s is up to date', path)
                meter.seek(size)
                with self._meter.lock:
                    self._result.unchanged.append(path)
            else:
                partial = target.claim(bitstream_id, checksum)
                try:
                    logger.info('downloading %s into %s', path, partial.name)
                    went_on_from = retrying(
                        lambda: self._receive(bitstream_id, partial, size, checksum, meter),
                        self._attempts, path, position=lambda: partial.size, stop=self._stop)
                    target.install(partial, name)
                    self._remember_checksum(path, partial, checksum)
                except BaseException:
                    if partial.size == 0:
                        partial.remove()  # nothing in it to resume from
                    raise
                finally:
                    partial.close()
                self._result.completed(path, size, resumed=went_on_from > 0)
            target.discard(bitstream_id, checksum)

    def _remember_checksum(self, path, partial, checksum):
        """Enter the file just renamed into place in the checksum cache, if ``path`` is
        still the file this download wrote and verified (nobody replaced it since)."""
        written, installed = os.fstat(partial.fd), os.lstat(path)
        if (written.st_ino, written.st_dev, written.st_mtime_ns, written.st_size) == (
                installed.st_ino, installed.st_dev, installed.st_mtime_ns, installed.st_size):
            self._checksums.store(path, installed, checksum)

    def _holds(self, target, path, size, checksum):
        """Whether the file at ``path`` holds this content: known from the checksum cache
        while the file is unchanged since it was hashed, else read."""
        try:
            status = os.lstat(path)
        except OSError:
            return False
        if not stat.S_ISREG(status.st_mode) or status.st_size != size:
            return False
        known = self._checksums.lookup(path, status)
        if known is not None:
            return known == checksum
        read_started_ns = time.time_ns()
        if not target.holds(os.path.basename(path), size, checksum):
            return False
        self._checksums.store_read(path, status, checksum, read_started_ns)
        return True

    def _receive(self, bitstream_id, partial, size, checksum, meter):
        """Complete ``partial`` from the bytes it holds to ``size``, then check the MD5 of
        what it holds; return the position it went on from."""
        self._stop.check()
        if partial.size > size:
            partial.truncate()
        digest, offset = partial.md5_state()
        meter.seek(offset)
        with ReceivingMD5(digest, max(1, min(CHUNK_SIZE, size - offset)), size - offset) as md5:
            if offset < size:
                self._append(bitstream_id, partial, md5, size, meter)
            received_md5 = md5.hexdigest()
        if partial.size != size:
            raise IncompleteTransfer('received {0} of {1} bytes'.format(partial.size, size))
        if received_md5 != checksum:
            partial.truncate()
            raise IncompleteTransfer('the MD5 of the received bytes is {0}, not {1}'.format(
                received_md5, checksum))
        return offset

    def _append(self, bitstream_id, partial, md5, size, meter):
        """Receive the bitstream from ``meter.position`` into ``partial`` and ``md5``.

        Each buffer is received into, written from, read back into and hashed from in
        place. Stopping the transfer breaks the connection off.
        """
        offset = meter.position
        _, body = self._client.with_token(lambda token: self._communicator.stream_bitstream(
            bitstream_id, token=token, offset=offset))
        try:
            with self._stop.abortable(body.abort):
                while meter.position < size:
                    buffer = md5.buffer()
                    view = memoryview(buffer)[:size - meter.position]
                    count = body.readinto(view)
                    if not count:
                        break
                    partial.write_at(view[:count], meter.position)
                    md5.update(buffer, count)
                    meter.add(count)
        except Exception as error:
            # With an offset the server announces the full size but sends the rest
            # only: a complaint about a short body after all bytes arrived is no error.
            if meter.position < size or not is_retryable(error):
                raise
        finally:
            body.close()

    # Helpers -----------------------------------------------------------------

    def _make_directory(self, path, is_folder):
        """Create ``path``; an existing one is reused if allowed, a symbolic link never."""
        if os.path.islink(path):
            raise FileExistsError('{0} is a symbolic link; not writing through it'.format(path))
        try:
            os.mkdir(path)
        except FileExistsError:
            if not os.path.isdir(path) or (
                    is_folder and not self._client.allow_existing_download_paths):
                raise
        logger.info('directory %s', path)

    def _phase(self):
        self._runner = TaskRunner(self._jobs, self._result, fatal=(TokenRenewalFailed,),
                                  stop=self._stop, pace=self._pace)
        return self._runner

    def _finish(self):
        self._result.bytes_transferred = self._meter.bytes_moved
        return finish(self._result)
