"""Uploads: local files and folders to items, bitstreams and folders of a Midas server.

A file becomes an item of the same name holding one bitstream; a directory
becomes a folder, recursively; with ``leaf_folders_as_items`` a directory
holding only files becomes one item with one bitstream per file.

Each file is read twice at most: once to compute its MD5, which is sent to
``midas.upload.generatetoken`` so that content the server already holds is
never sent (it answers with an empty upload token), and once, streaming, to
send it. A broken upload resumes from what the server holds
(``midas.upload.getoffset``): the server appends, so resending from byte 0
would corrupt the file.

A single file going into a folder known to hold no item of its name (one this
upload created, or one listed for ``reuse_existing``) gets its item and upload
token from one ``midas.upload.generatetoken`` call with the folder id, instead
of ``midas.item.create`` followed by ``midas.upload.generatetoken``.
"""

import logging

from pydas.checksums import file_md5
from pydas.exceptions import InvalidUploadToken, TokenRenewalFailed
from pydas.localtree import LocalFolder, expand, scan
from pydas.serverpaths import resolve_destination
from pydas.transfer import (
    DEFAULT_ATTEMPTS, DEFAULT_JOBS, Countdown, FileMeter, ProgressMeter, TaskRunner, TransferResult,
    finish, retrying)

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
    :param jobs: files sent at once
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
    uploader.run(nodes, parent_id)
    return finish(result)


class _Uploader(object):
    """Creates folders in order on the calling thread and sends files on workers."""

    def __init__(self, client, result, meter, reuse_existing, jobs, attempts):
        self._client = client
        self._communicator = client.communicator
        self._result = result
        self._meter = meter
        self._reuse_existing = reuse_existing
        self._attempts = attempts
        self._runner = TaskRunner(jobs, result, fatal=(TokenRenewalFailed,))
        # The workers, and this thread creating folders meanwhile.
        self._communicator.reserve_connections(jobs + 1)

    def run(self, nodes, parent_id):
        """Upload ``nodes`` into the folder ``parent_id`` and wait for every file."""
        try:
            existing_items = self._existing_items(parent_id)
            # Unless listed, the destination's item names are unknown.
            self._upload_children(nodes, parent_id, existing_items,
                                  existing_items if self._reuse_existing else None)
        finally:
            self._runner.wait()
        self._result.bytes_transferred = self._meter.bytes_moved

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
                # One call creates the item and its upload token when the server keeps the
                # name as it is (no item of that name yet), so that the item is found by it.
                in_one_call = (node.is_file and names_taken is not None
                               and node.name not in names_taken)
                self._runner.submit(node.path, self._upload_item, node, folder_id,
                                    existing_items.get(node.name), in_one_call)

    def _upload_folder(self, node, parent_id):
        """Create the folder; return what :meth:`_upload_children` goes on with inside it."""
        logger.info('creating folder from %s', node.path)
        try:
            folder = self._client.with_token(
                lambda token: self._communicator.create_folder(
                    token, node.name, parent_id, reuse_existing=self._reuse_existing))
            existing_items = self._existing_items(folder['folder_id'])
        except TokenRenewalFailed:
            raise
        except Exception as error:  # the folder's files fail with it; its siblings go on
            self._runner.fail(node.path, error)
            for local_file in node.files():
                self._meter.file_done(local_file.path)
            return None
        # Without reuse_existing, the server created the folder (it refuses an existing
        # name): it is empty.
        return iter(node.children), folder['folder_id'], existing_items, existing_items

    def _existing_items(self, folder_id):
        """Return item name -> item id in the folder (nothing unless reusing)."""
        if not self._reuse_existing:
            return {}
        children = self._client.with_token(
            lambda token: self._communicator.folder_children(token, folder_id))
        existing = {}
        for item in children.get('items', []):
            existing.setdefault(item['name'], item['item_id'])
        return existing

    def _upload_item(self, node, folder_id, item_id, in_one_call=False):
        """Create (or reuse) the item, send its first file, then the others in parallel.

        The first bitstream creates the item's revision; the others are added
        to it concurrently.
        """
        if item_id is None and in_one_call:
            item_id = self._upload_new_item(node, folder_id)
            if item_id is not None:
                self._item_done(node, item_id)
            return
        if item_id is None:
            item_id = self._create_item(node, folder_id)
        files = list(node.files)
        while files:
            local_file = files.pop(0)
            if self._upload_file_reporting(local_file, item_id):
                break
        else:
            return
        countdown = Countdown(len(files) + 1, lambda: self._item_done(node, item_id))
        for local_file in files:
            self._runner.submit(local_file.path, self._upload_part, local_file, item_id,
                                countdown)
        countdown.part_done(True)

    def _create_item(self, node, folder_id):
        logger.info('creating item from %s', node.path)
        try:
            return self._client.with_token(
                lambda token: self._communicator.create_item(token, node.name, folder_id)
            )['item_id']
        except Exception:
            for local_file in node.files:
                self._meter.file_done(local_file.path)
            raise

    def _upload_new_item(self, node, folder_id):
        """Create the item of a single file and send the file; return the item id, or None.

        ``midas.upload.generatetoken`` with the folder creates the item (named like
        the file, which no item of the folder has) and answers its upload token, or
        an empty token when its checksum short-cut attached content the server
        already held: then the item is found by its name.
        """
        local_file = node.files[0]
        try:
            meter = FileMeter(self._meter, local_file.path)
            checksum, size = file_md5(local_file.path)
            logger.info('creating item from %s', node.path)
            # Not retried: a call whose answer was lost may have created the item.
            upload_token, item_id = self._client.with_token(
                lambda token: self._communicator.generate_upload_token_for_new_item(
                    token, folder_id, local_file.name, checksum=checksum))
            if upload_token:
                self._transfer(upload_token, local_file, item_id, checksum, meter)
            else:
                item_id = self._find_item(folder_id, node.name)
                self._unchanged(local_file, size, meter)
        except TokenRenewalFailed:
            raise
        except Exception as error:  # reported, and the other files go on
            self._runner.fail(local_file.path, error)
            return None
        finally:
            self._meter.file_done(local_file.path)
        return item_id

    def _find_item(self, folder_id, name):
        found = self._client.with_token(
            lambda token: self._communicator.search_item_by_name_and_folder(
                name, folder_id, token=token))
        # The newest, should another client have added one of that name meanwhile.
        return max((item['item_id'] for item in found), key=int)

    def _upload_part(self, local_file, item_id, countdown):
        countdown.part_done(self._upload_file_reporting(local_file, item_id))

    def _upload_file_reporting(self, local_file, item_id):
        """Upload one file; record a failure instead of raising. Returns whether it worked."""
        try:
            self._upload_file(local_file, item_id)
        except TokenRenewalFailed:
            raise
        except Exception as error:  # reported, and the item's other files go on
            self._runner.fail(local_file.path, error)
            return False
        finally:
            self._meter.file_done(local_file.path)
        return True

    def _item_done(self, node, item_id):
        with self._meter.lock:
            self._result.items.append((node.path, item_id))
            for callback in self._client.item_upload_callbacks:
                callback(self._communicator, self._client.token, item_id)

    def _upload_file(self, local_file, item_id):
        meter = FileMeter(self._meter, local_file.path)
        checksum, size = file_md5(local_file.path)
        upload_token = retrying(
            lambda: self._client.with_token(
                lambda token: self._communicator.generate_upload_token(
                    token, item_id, local_file.name, checksum=checksum)),
            self._attempts, local_file.path)
        if not upload_token:
            self._unchanged(local_file, size, meter)
            return
        self._transfer(upload_token, local_file, item_id, checksum, meter)

    def _unchanged(self, local_file, size, meter):
        logger.info('%s: the server has this content already', local_file.path)
        meter.seek(size)
        self._result.unchanged.append(local_file.path)

    def _transfer(self, upload_token, local_file, item_id, checksum, meter):
        logger.info('uploading %s', local_file.path)
        self._send(upload_token, local_file, item_id, checksum, meter)
        self._result.transferred.append(local_file.path)

    def _send(self, upload_token, local_file, item_id, checksum, meter):
        """Send the file, resuming from the server's offset after a break."""
        attempt = {'number': 0}

        def perform():
            attempt['number'] += 1
            try:
                self._communicator.perform_upload(
                    upload_token, local_file.name, filepath=local_file.path,
                    offset=meter.position, itemid=item_id, progress=meter.add)
            except InvalidUploadToken:
                # A consumed token after a broken attempt: that attempt completed
                # on the server but its answer was lost.
                if attempt['number'] == 1 or not self._has_bitstream(
                        item_id, local_file.name, checksum):
                    raise

        def resume():
            meter.seek(self._communicator.get_upload_offset(upload_token))
            logger.info('%s: resuming at byte %d', local_file.path, meter.position)

        retrying(perform, self._attempts, local_file.path, before_retry=resume)

    def _has_bitstream(self, item_id, name, checksum):
        item = self._client.with_token(
            lambda token: self._communicator.item_get(token, item_id))
        revisions = item.get('revisions') or [{'bitstreams': []}]
        return any(bitstream['name'] == name and bitstream['checksum'] == checksum
                   for bitstream in revisions[-1]['bitstreams'])
