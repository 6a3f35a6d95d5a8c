"""Uploads: local files and folders to items, bitstreams and folders of a Midas server.

A file becomes an item of the same name holding one bitstream; a directory
becomes a folder, recursively; with ``leaf_folders_as_items`` a directory
holding only files becomes one item with one bitstream per file.

Each file is sent by a :class:`pydas.fileupload.FileUpload`: deduplicated by
its MD5, resumed after a break, verified by reading the item back. This module
decides where it goes: a new item, an item an earlier run left unfinished, or
(with ``reuse_existing``) the item of the same name, whose latest revision
receives the file if it holds nothing yet, or a new revision if it holds other
content.
The MD5s are computed on a thread of their own, in the order the files are
sent, so that the next files are hashed while the current ones are sent.

A single file going into a folder known to hold no item of its name (one this
upload created, or one listed for ``reuse_existing``) gets its item and upload
token from one ``midas.upload.generatetoken`` call with the folder id, instead
of ``midas.item.create`` followed by ``midas.upload.generatetoken``.
"""

import logging
import re

from pydas import uploadstate
from pydas.exceptions import ResponseError, TokenRenewalFailed
from pydas.fileupload import HEAD, NEW_REVISION, FileUpload
from pydas.hashahead import HashAhead
from pydas.localtree import LocalFolder, expand, scan
from pydas.serverpaths import resolve_destination
from pydas.retries import DEFAULT_ATTEMPTS, check_attempts, is_retryable, retried_call, retry_pause
from pydas.transfer import ProgressMeter, TransferResult, finish, interruptible
from pydas.workers import DEFAULT_JOBS, Countdown, TaskRunner, server_pushed_back

logger = logging.getLogger('pydas')


def upload_files(client, file_pattern, destination='Private', leaf_folders_as_items=False,
                 reuse_existing=False, jobs=DEFAULT_JOBS, progress=None,
                 attempts=DEFAULT_ATTEMPTS):
    """Upload the files and directories matching a glob pattern.

    :param client: the client to upload with
    :type client: pydas.session.Client
    :param file_pattern: glob pattern of the local files and directories
    :type file_pattern: string
    :param destination: a top folder of the user (``Private``, ``Public``...) or a
        server path of a folder (``/users/<First>_<Last>/...``, ``/communities/<Name>/...``),
        or the folder's :class:`pydas.serverpaths.Resource` found already
    :type destination: string | pydas.serverpaths.Resource
    :param leaf_folders_as_items: upload a directory holding only files as one item
    :type leaf_folders_as_items: bool
    :param reuse_existing: reuse folders and items of the same name
    :type reuse_existing: bool
    :param jobs: files sent at once at most (see :class:`pydas.workers.Pace`)
    :type jobs: int
    :param progress: (optional) called with a :class:`pydas.transfer.Progress`
    :type progress: None | callable
    :param attempts: tries per file before it is reported as failed
    :type attempts: int
    :returns: what was uploaded, skipped or found on the server already
    :rtype: pydas.transfer.TransferResult
    :raises pydas.exceptions.ServerPathNotFound: if the destination does not exist
    :raises pydas.exceptions.TransferError: if some files failed (the others are uploaded)
    """
    check_attempts(attempts)
    client.verify_credentials()
    parent_id = resolve_destination(client, destination)
    result = TransferResult()
    nodes = [node for node in (scan(path, leaf_folders_as_items, result)
                               for path in expand(file_pattern)) if node is not None]
    meter = ProgressMeter(progress)
    for node in nodes:
        files = node.files() if isinstance(node, LocalFolder) else node.files
        meter.add_files(len(files), sum(local_file.size for local_file in files))
    uploader = _Uploader(client, result, meter, reuse_existing, jobs, attempts)
    with interruptible(result):
        uploader.run(nodes, parent_id)
    return finish(result)


class _Uploader(object):
    """Creates folders in order on the calling thread and sends files on workers.

    It is the context of each :class:`pydas.fileupload.FileUpload`: ``client``,
    ``attempts``, ``stop``, ``meter`` and ``result``.
    """

    def __init__(self, client, result, meter, reuse_existing, jobs, attempts):
        self.client = client
        self._communicator = client.communicator
        self.result = result
        self.meter = meter
        self._reuse_existing = reuse_existing
        self.attempts = attempts
        self._runner = TaskRunner(jobs, result, fatal=(TokenRenewalFailed,))
        self.stop = self._runner.stop
        self.states = uploadstate.default_state()
        self._hashes = HashAhead(attempts, self.stop, jobs)
        # The workers, and this thread creating folders meanwhile.
        self._communicator.reserve_connections(jobs + 1)

    def run(self, nodes, parent_id):
        """Upload ``nodes`` into the folder ``parent_id`` and wait for every file."""
        try:
            with self._runner:
                existing_items = self._existing_items(parent_id)
                # Unless listed, the destination's item names are unknown.
                self._upload_children(nodes, parent_id, existing_items,
                                      existing_items if self._reuse_existing else None)
        finally:
            self.result.bytes_transferred = self.meter.bytes_moved

    def _upload_children(self, nodes, folder_id, existing_items, names_taken):
        """Upload ``nodes`` into ``folder_id``.

        :param existing_items: item name -> id of the items to reuse
        :param names_taken: the names of the folder's items, or None if unknown
        """
        # Depth first, in order, without recursion: a tree of any depth is uploaded.
        pending = [(iter(nodes), folder_id, existing_items, names_taken)]
        while pending:
            nodes, folder_id, existing_items, names_taken = pending[-1]
            node = next(nodes, None)
            if node is None:
                pending.pop()
            elif isinstance(node, LocalFolder):
                inside = self._upload_folder(node, folder_id)
                if inside is not None:
                    pending.append(inside)
            else:
                # Whether the server will keep the item's name as it is (None: unknown).
                name_free = None if names_taken is None else node.name not in names_taken
                self._hashes.add(node.files)
                self._runner.submit(node.path, self._upload_item, node, folder_id,
                                    existing_items.get(node.name), name_free,
                                    size=node.files[0].size if node.files else 0)

    def _upload_folder(self, node, parent_id):
        """Create the folder; return what :meth:`_upload_children` goes on with inside it."""
        logger.info('creating folder from %s', node.path)
        with self._runner.reporting(node.path) as outcome:
            try:
                folder = self._create_once(
                    node.path,
                    lambda token: self._communicator.create_folder(
                        token, node.name, parent_id, reuse_existing=self._reuse_existing),
                    # The call whose answer was lost may have created it.
                    lambda: self._api(node.path, lambda token: self._communicator.create_folder(
                        token, node.name, parent_id, reuse_existing=True)))
                existing_items = self._existing_items(folder['folder_id'])
            except Exception:
                # The folder's files fail with it; its siblings go on.
                for local_file in node.files():
                    self.meter.file_done(local_file.path)
                raise
        if not outcome.succeeded:
            return None
        return iter(node.children), folder['folder_id'], existing_items, existing_items

    def _existing_items(self, folder_id):
        """Return item name -> item id in the folder (nothing unless reusing)."""
        if not self._reuse_existing:
            return {}
        children = self._api(folder_id, lambda token: self._communicator.folder_children(
            token, folder_id))
        existing = {}
        for item in children.get('items', []):
            existing.setdefault(item['name'], item['item_id'])
        return existing

    # Items -------------------------------------------------------------------

    def _upload_item(self, node, folder_id, item_id, name_free=None):
        """Find or create the item, send its first file, then the others in parallel.

        The first file decides the revision the others go to: the item's latest
        one, or a new one when the item holds other content under these names.
        """
        plan = self._plan(node, folder_id, item_id, name_free)
        if plan is None:
            return
        first, others = plan
        if not self._upload_file_reporting(first):
            if first.fresh and not first.resumable:
                self._delete_empty_item(first)
            return
        countdown = Countdown(len(others) + 1, lambda: self._item_done(node, first.item_id))
        for upload in others:
            self._runner.submit(upload.path, self._upload_part, upload, countdown,
                                size=upload.size)
        countdown.part_done(True)

    def _plan(self, node, folder_id, item_id, name_free):
        """Return the first :class:`FileUpload` of the item and the others, or None when
        nothing is left to send (each file then counted as done or failed)."""
        known = {}
        for local_file in node.files:
            with self._runner.reporting(local_file.path) as outcome:
                known[local_file.path] = self._hashes.take(local_file)
            if not outcome.succeeded:
                self.meter.file_done(local_file.path)
        files = [local_file for local_file in node.files if local_file.path in known]
        if not files:
            return None
        with self._runner.reporting(node.path) as outcome:
            if item_id is None:
                item_id = self._earlier_item(files[0], known[files[0].path], node.name,
                                             folder_id)
            fresh = item_id is None
            if fresh:
                item_id, revision, token = self._new_item(node, files[0], known, folder_id,
                                                          name_free)
                # Should this run stop before the file's upload token is remembered, the
                # next one fills this item rather than creating "name (1)".
                state, checksum = known[files[0].path]
                self.states.remember(self._communicator.url, files[0].path, state.size,
                                     state.mtime_ns, checksum, item_id, '')
            else:
                revision, token = self._revision_for(node, files, known, item_id), None
        if not outcome.succeeded:
            for local_file in files:
                self.meter.file_done(local_file.path)
            return None
        if revision is None:
            for local_file in files:
                state, _ = known[local_file.path]
                self.meter.add_bytes(state.size, local_file.path)
                self.meter.file_done(local_file.path)
                self.result.unchanged.append(local_file.path)
            self._item_done(node, item_id)
            return None
        # The first one chooses the revision: one that holds different content first.
        first = FileUpload(self, files[0], item_id, revision, known[files[0].path], token,
                           fresh)
        others = [FileUpload(self, local_file, item_id, HEAD, known[local_file.path],
                             fresh=fresh)
                  for local_file in files[1:]]
        return first, others

    def _earlier_item(self, local_file, known, name, folder_id):
        """The item a run before left unfinished for this very file, if it still waits."""
        state, checksum = known
        recalled = self.states.recall(self._communicator.url, local_file.path, state.size,
                                      state.mtime_ns, checksum)
        if recalled is None:
            return None
        try:
            item = self._api(local_file.path, lambda token: self._communicator.item_get(
                token, recalled[0]))
        except ResponseError:
            return None  # deleted meanwhile
        if item['name'] != name or str(item.get('folder_id', folder_id)) != str(folder_id):
            return None
        logger.info('%s: going on with item %s, left by an earlier run', local_file.path,
                    item['item_id'])
        return item['item_id']

    def _new_item(self, node, local_file, known, folder_id, name_free):
        """Create the item; return its id, the revision to send to and the upload token
        when the item came with one (None otherwise, '' when no upload is needed).

        The item of a single file comes with its upload token from one call,
        ``midas.upload.generatetoken`` with the folder id, where ``midas.item.create``
        and ``midas.upload.generatetoken`` make two.
        """
        logger.info('creating item from %s', node.path)

        def created_item():
            # A call whose answer was lost may have created it: it has no revision yet.
            return self._find_item(folder_id, node.name, empty=True)

        if not node.is_file:
            item_id = self._create_once(
                node.path,
                lambda token: self._communicator.create_item(token, node.name,
                                                             folder_id)['item_id'],
                created_item)
            return item_id, HEAD, None
        upload_token, item_id = self._create_once(
            node.path,
            lambda token: self._communicator.generate_upload_token_for_new_item(
                token, folder_id, local_file.name, checksum=known[local_file.path][1]),
            lambda: (lambda found: None if found is None else (None, found))(created_item()))
        if upload_token == '':
            # The server attached content it holds, and did not say which item it made.
            item_id = (self._find_item(folder_id, node.name) if name_free
                       else self._newest_named(folder_id, node.name))
        return item_id, HEAD, upload_token

    def _revision_for(self, node, files, known, item_id):
        """The revision the files of an existing item go to: HEAD to fill an item without
        content, a new one if its latest holds other content, None if it holds theirs."""
        item = self._api(node.path, lambda token: self._communicator.item_get(token, item_id))
        revisions = item.get('revisions') or []
        held = {}
        for bitstream in (revisions[-1]['bitstreams'] if revisions else []):
            held.setdefault(bitstream['name'], set()).add(
                (bitstream['checksum'].lower(), int(bitstream['sizebytes'] or 0)))
        if not held:
            return HEAD
        differing = [local_file for local_file in files
                     if (known[local_file.path][1], known[local_file.path][0].size)
                     not in held.get(local_file.name, ())]
        if not differing and set(held) == {local_file.name for local_file in files}:
            return None
        # Send a differing file first: it creates the revision the others join.
        if differing:
            files.insert(0, files.pop(files.index(differing[0])))
        return NEW_REVISION

    def _find_item(self, folder_id, name, empty=False):
        """The newest item of that name in the folder (with ``empty``, one without
        revision, or None)."""
        found = self._api(name, lambda token: self._communicator.search_item_by_name_and_folder(
            name, folder_id, token=token))
        if empty:
            found = [item for item in found
                     if not self._api(name, lambda token: self._communicator.item_get(
                         token, item['item_id'])).get('revisions')]
            if not found:
                return None
        # The newest, should another client have added one of that name meanwhile.
        return max((item['item_id'] for item in found), key=int)

    def _newest_named(self, folder_id, name):
        """The newest item of the folder named ``name`` or, as the server renames a new item
        whose name is taken, ``name (N)``."""
        pattern = re.compile(re.escape(name) + r'( \(\d+\))?')
        children = self._api(name, lambda token: self._communicator.folder_children(
            token, folder_id))
        return max((item['item_id'] for item in children.get('items', [])
                    if pattern.fullmatch(item['name'])), key=int)

    def _api(self, path, operation):
        return retried_call(self.client, operation, self.attempts, path, self.stop)

    def _create_once(self, path, create, find_created):
        """Call ``create(token)``, which must not simply be repeated: when its answer is
        lost, ``find_created()`` tells what it made (None: nothing, and it is tried again).
        """
        for attempt in range(1, self.attempts + 1):
            try:
                return self.client.with_token(create)
            except Exception as error:
                if not is_retryable(error) or attempt == self.attempts:
                    raise
                server_pushed_back()
                logger.warning('%s: %s; checking what the server did', path, error)
            self.stop.sleep(retry_pause(attempt))
            found = find_created()
            if found is not None:
                return found

    def _delete_empty_item(self, upload):
        """Delete the item this run created for a file that failed with nothing to resume."""
        try:
            item = self._api(upload.path, lambda token: self._communicator.item_get(
                token, upload.item_id))
            if not item.get('revisions'):
                self._api(upload.path, lambda token: self._communicator.delete_item(
                    token, upload.item_id))
                self.states.forget(self._communicator.url, upload.path)
        except Exception as error:  # the failure of the file is what matters
            logger.warning('%s: could not delete the empty item %s: %s', upload.path,
                           upload.item_id, error)

    def _upload_part(self, upload, countdown):
        countdown.part_done(self._upload_file_reporting(upload))

    def _upload_file_reporting(self, upload):
        """Upload one file; record a failure instead of raising. Returns whether it worked."""
        try:
            with self._runner.reporting(upload.path) as outcome:
                upload.run()
        finally:
            self.meter.file_done(upload.path)
        return outcome.succeeded

    def _item_done(self, node, item_id):
        with self.meter.lock:
            self.result.items.append((node.path, item_id))
            for callback in self.client.item_upload_callbacks:
                callback(self._communicator, self.client.token, item_id)
