"""One local file into one item of a Midas server: deduplicated, resumed, verified.

The steps of :class:`FileUpload`:

1. The file's MD5 is computed, and its state (size, time stamps, inode) noted.
   A file that changes while it is hashed is hashed again.
2. ``midas.upload.generatetoken`` gets the MD5: content the server holds
   already is attached at once (an empty upload token) and never sent.
3. The upload token is remembered in :mod:`pydas.uploadstate` before the first
   byte is sent, so that a later run resumes a partial upload this one leaves.
4. The bytes are sent. After a broken connection the upload resumes from the
   server's offset (``midas.upload.getoffset``) once it is settled: a request
   the server is still receiving would otherwise append to the same partial as
   the resumed one. No read can prove that no earlier request will append any
   more; waiting for the offset to stay still covers a server that appends what
   it had received as soon as the connection breaks (as Midas does), and the
   check of step 5 catches, and repairs, what a server stalling longer did. A
   token whose offset went past the file's size or back is abandoned for a
   fresh one; a token another live run uses is never resumed.
5. The file's state is compared with the one noted in step 1, and the item is
   read back: the target revision must hold a bitstream of the file's name,
   size and MD5, added by this upload. Bitstreams this upload added with other
   content (or twice) are deleted, and a file that changed meanwhile is hashed
   and sent again. Only then does the upload count as done.
"""

import collections
import logging
import os
import time

from pydas.checksumcache import file_md5_cached
from pydas.exceptions import (IncompleteTransfer, InvalidPolicy, InvalidUploadToken,
                              LocalFileChanged, UploadFailed)
from pydas.retries import retried_call, retrying
from pydas.transfer import FileMeter

logger = logging.getLogger('pydas')

#: Target revision: the item's latest one (created when the item has none).
HEAD = 'head'

#: Target revision: a new one, after the item's latest.
NEW_REVISION = 'new'

#: Seconds between two reads of the offset that must agree before a resume.
SETTLE_INTERVAL = 0.5

#: Seconds an offset may keep moving before the resume gives up for this attempt.
SETTLE_LIMIT = 30.0

#: Seconds to wait for the server to finish an upload it received whole, before
#: finishing it ourselves (a real Midas hashes a resumed upload after receiving it).
FINISH_LIMIT = 10.0


class FileState(collections.namedtuple('FileState', 'size mtime_ns ctime_ns inode device')):
    """What tells that a local file changed: its size, time stamps and inode."""

    __slots__ = ()

    @classmethod
    def of(cls, path):
        """The state of the file at ``path`` now.

        :rtype: FileState
        """
        info = os.stat(path)
        return cls(info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev)


def hash_file(path, attempts):
    """Return ``(FileState, md5)`` of a file that did not change while it was hashed.

    :param path: the file
    :type path: string
    :param attempts: times to hash it before giving up on a file that keeps changing
    :type attempts: int
    :rtype: (FileState, string)
    :raises pydas.exceptions.LocalFileChanged: if it changed every time
    """
    for _ in range(attempts):
        before = FileState.of(path)
        checksum, size = file_md5_cached(path)
        if FileState.of(path) == before and size == before.size:
            return before, checksum
    raise LocalFileChanged('{0} changed while it was being read'.format(path))


class _StartOver(Exception):
    """The partial upload cannot be trusted: send the file again under a fresh token."""


class FileUpload(object):
    """Uploads one local file into one item and checks what the server then holds.

    :param context: the upload: ``client``, ``attempts``, ``stop``, ``meter``,
        ``result`` and ``states`` (a :class:`pydas.uploadstate.UploadState`)
    :param local_file: the file (``path``, ``name``)
    :type local_file: pydas.localtree.LocalFile
    :param item_id: the item receiving it
    :type item_id: string
    :param revision: :data:`HEAD`, :data:`NEW_REVISION` or a revision number
    :type revision: string | int
    :param known: (optional) ``(FileState, md5)`` computed already
    :type known: None | (FileState, string)
    :param upload_token: (optional) the token the item came with (``''``: the server
        attached the content when it created the item)
    :type upload_token: None | string
    :param fresh: whether this upload created the item (so it holds nothing yet)
    :type fresh: bool
    """

    def __init__(self, context, local_file, item_id, revision=HEAD, known=None,
                 upload_token=None, fresh=False):
        self._context = context
        self._client = context.client
        self._communicator = context.client.communicator
        self._file = local_file
        self.item_id = item_id
        self._revision = revision
        self._known = known
        self._meter = FileMeter(context.meter, local_file.path)
        self._states = context.states
        self._token = upload_token
        self._fresh = fresh
        self._held = 0
        self._resumed = False
        self._completed = False
        self._state = None
        self._checksum = None
        self._existing = frozenset()

    @property
    def path(self):
        """The local path of the file."""
        return self._file.path

    @property
    def size(self):
        """The size of the file when it was listed."""
        return self._file.size

    @property
    def fresh(self):
        """Whether this upload's item was created for it."""
        return self._fresh

    @property
    def resumable(self):
        """Whether a partial upload of the file waits on the server for a later run."""
        return bool(self._token) and not self._completed

    def run(self):
        """Upload the file, or find the server holds it already.

        :returns: True if bytes were sent, False if the server had the content
        :rtype: bool
        :raises pydas.exceptions.LocalFileChanged: if the file kept changing while sent
        :raises pydas.exceptions.IncompleteTransfer: if the server kept storing other bytes
        """
        path = self._file.path
        for attempt in range(1, self._context.attempts + 1):
            try:
                return self._upload()
            except (LocalFileChanged, IncompleteTransfer) as error:
                if attempt == self._context.attempts:
                    raise
                logger.warning('%s: %s; sending it again', path, error)
                self._start_afresh()

    def _start_afresh(self):
        """Forget all about the attempt before: the content, its token, its partial."""
        self._known = None
        self._token = None
        self._held = 0
        self._resumed = False
        self._completed = False
        self._meter.seek(0)
        self._states.forget(self._communicator.url, self._file.path)

    def _upload(self):
        self._state, self._checksum = self._known or hash_file(self._file.path,
                                                               self._context.attempts)
        self._existing = frozenset() if self._fresh else frozenset(
            bitstream['bitstream_id'] for bitstream in self._named_bitstreams(self._item()))
        sent = self._start()
        if sent:
            retrying(self._perform, self._context.attempts, self._file.path,
                     resume=self._resume, position=lambda: self._held, stop=self._context.stop)
        self._finish_check(sent)
        self._states.forget(self._communicator.url, self._file.path)
        return sent

    # Starting ------------------------------------------------------------------

    def _start(self):
        """Get an upload token, or resume the one a run before left; False if no upload
        is needed (the server attached content it holds)."""
        if self._token is not None:
            if self._token:
                self._remember()
            return bool(self._token)
        recalled = self._states.recall(self._communicator.url, self._file.path,
                                       self._state.size, self._state.mtime_ns, self._checksum)
        if recalled is not None and recalled[1] and str(recalled[0]) == str(self.item_id):
            self._token = recalled[1]
            offset = self._settled_offset()
            if 0 < offset <= self._state.size:
                logger.info('%s: resuming the upload of an earlier run at byte %d',
                            self._file.path, offset)
                self._held = offset
                self._resumed = True
                self._meter.seek(offset)
                return True
        # The short-cut adds to the latest revision, and nothing if it holds the name.
        checksum = self._checksum if self._revision == HEAD else None
        self._token = self._api(lambda token: self._communicator.generate_upload_token(
            token, self.item_id, self._file.name, checksum=checksum))
        if not self._token:
            logger.info('%s: the server has this content already', self._file.path)
            return False
        self._remember()
        return True

    def _remember(self):
        self._states.remember(self._communicator.url, self._file.path, self._state.size,
                              self._state.mtime_ns, self._checksum, self.item_id, self._token)

    def _fresh_token(self):
        """Abandon the current token (its partial stays on the server) for a new one."""
        self._token = self._api(lambda token: self._communicator.generate_upload_token(
            token, self.item_id, self._file.name))
        self._held = 0
        self._meter.seek(0)
        self._resumed = False
        self._remember()

    # Sending -------------------------------------------------------------------

    def _perform(self):
        self._context.stop.check()
        if self._completed:
            return
        if FileState.of(self._file.path) != self._state:
            raise LocalFileChanged('{0} changed while it was being sent'.format(
                self._file.path))
        options = {}
        if self._revision == NEW_REVISION:
            options['create_additional_revision'] = True
        elif self._revision != HEAD:
            options['revision'] = self._revision
        try:
            self._communicator.perform_upload(
                self._token, self._file.name, filepath=self._file.path,
                offset=self._meter.position, itemid=self.item_id,
                progress=self._sent, **options)
        except InvalidUploadToken:
            # Used up: an attempt whose answer was lost completed it, or it is stale.
            if self._completed_meanwhile():
                return
            self._fresh_token()
            raise UploadFailed('{0}: the upload token was no longer valid; sending the file '
                               'from its first byte'.format(self._file.path))

    def _sent(self, count):
        self._context.stop.check()
        self._meter.add(count)

    def _resume(self):
        """Find where to go on after a broken attempt, with no earlier request still adding."""
        try:
            offset = self._settled_offset()
            if offset > self._state.size:
                raise _StartOver('the server holds {0} bytes of a {1}-byte file'.format(
                    offset, self._state.size))
            if offset < self._held or (offset == 0 and self._meter.position > 0):
                # Back to 0: completed meanwhile (its token used up), or the partial is gone.
                self._completed = self._completed_meanwhile()
                if offset < self._held and not self._completed:
                    raise _StartOver('the server\'s offset went back from {0} to {1}'.format(
                        self._held, offset))
            elif offset == self._state.size:
                self._completed = self._finished_by_server()
            if self._completed:
                offset = self._state.size
        except _StartOver as reason:
            logger.warning('%s: %s; sending it again under a new upload token',
                           self._file.path, reason)
            self._fresh_token()
            return
        self._held = offset
        self._meter.seek(offset)
        logger.info('%s: resuming at byte %d', self._file.path, offset)

    def _settled_offset(self):
        """The bytes the server holds under the token, once reads a moment apart agree.

        Two reads :data:`SETTLE_INTERVAL` apart must agree; once the offset was seen
        moving (a server still appending an earlier request), three in a row.
        """
        deadline = time.monotonic() + SETTLE_LIMIT
        offset = self._offset()
        agreeing, needed = 0, 1
        while agreeing < needed:
            self._context.stop.sleep(SETTLE_INTERVAL)
            again = self._offset()
            if again == offset:
                agreeing += 1
                continue
            if time.monotonic() > deadline:
                raise UploadFailed('{0}: the server kept receiving an earlier attempt for {1} '
                                   's'.format(self._file.path, SETTLE_LIMIT))
            offset, agreeing, needed = again, 0, 2
        return offset

    def _offset(self):
        return retrying(lambda: self._communicator.get_upload_offset(self._token),
                        self._context.attempts, self._file.path, stop=self._context.stop)

    def _finished_by_server(self):
        """Wait for a server holding the whole file to finish the upload itself.

        :returns: True if it did (the token is used up), False if the token still
            waits for a request to finish it
        """
        deadline = time.monotonic() + FINISH_LIMIT
        while time.monotonic() < deadline:
            if self._completed_meanwhile():
                return True
            self._context.stop.sleep(SETTLE_INTERVAL)
        return False

    # Checking ------------------------------------------------------------------

    def _api(self, operation):
        return retried_call(self._client, operation, self._context.attempts, self._file.path,
                            self._context.stop)

    def _item(self):
        return self._api(lambda token: self._communicator.item_get(token, self.item_id))

    def _target_revision(self, item):
        revisions = item.get('revisions') or []
        if self._revision in (HEAD, NEW_REVISION):
            return revisions[-1] if revisions else None
        return next((revision for revision in revisions
                     if str(revision['revision']) == str(self._revision)), None)

    def _named_bitstreams(self, item):
        revision = self._target_revision(item)
        return [bitstream for bitstream in (revision or {}).get('bitstreams', [])
                if bitstream['name'] == self._file.name]

    def _is_good(self, bitstream):
        return (bitstream['checksum'].lower() == self._checksum
                and int(bitstream['sizebytes'] or 0) == self._state.size)

    def _completed_meanwhile(self):
        """Whether the target revision holds a good bitstream of the file added by us."""
        return any(self._is_good(bitstream) and bitstream['bitstream_id'] not in self._existing
                   for bitstream in self._named_bitstreams(self._item()))

    def _finish_check(self, sent):
        """Check the file did not change and the server holds its content; repair if not.

        :raises pydas.exceptions.LocalFileChanged: if the file changed meanwhile
        :raises pydas.exceptions.IncompleteTransfer: if the server holds other content
        """
        changed = FileState.of(self._file.path) != self._state
        item = self._item()
        added = [bitstream for bitstream in self._named_bitstreams(item)
                 if bitstream['bitstream_id'] not in self._existing]
        good = [bitstream for bitstream in added if self._is_good(bitstream)]
        if not sent and not added:
            # The short-cut adds nothing when the revision holds the name already.
            good = [bitstream for bitstream in self._named_bitstreams(item)
                    if self._is_good(bitstream)]
        keep = good[:1] if not changed else []
        for bitstream in added:
            if bitstream not in keep:
                self._delete(bitstream)
        if added and not keep and self._revision == NEW_REVISION:
            # The revision this upload created is now empty: the next attempt fills it.
            self._revision = int(self._target_revision(item)['revision'])
        if changed:
            raise LocalFileChanged('{0} changed while it was being sent'.format(
                self._file.path))
        if not keep:
            found = ', '.join('{0} bytes, MD5 {1}'.format(bitstream['sizebytes'],
                                                          bitstream['checksum'])
                              for bitstream in added) or 'nothing'
            raise IncompleteTransfer(
                '{0}: the server stored {1} instead of {2} bytes with MD5 {3}'.format(
                    self._file.path, found, self._state.size, self._checksum))
        self._meter.seek(self._state.size)
        if sent:
            self._context.result.completed(self._file.path, self._state.size, self._resumed)
        else:
            self._context.result.unchanged.append(self._file.path)

    def _delete(self, bitstream):
        """Delete a bitstream this upload added that does not hold the file.

        :raises pydas.exceptions.IncompleteTransfer: if the server refuses (deleting takes
            admin rights on the item, which writing does not)
        """
        logger.warning('%s: deleting bitstream %s of %s bytes, MD5 %s, which does not hold '
                       'the file', self._file.path, bitstream['bitstream_id'],
                       bitstream['sizebytes'], bitstream['checksum'])
        try:
            self._api(lambda token: self._communicator.delete_bitstream(
                token, bitstream['bitstream_id']))
        except InvalidPolicy as error:
            raise IncompleteTransfer(
                '{0}: the server stored a bitstream ({1}) that does not hold the file, and '
                'refused to delete it: {2}'.format(self._file.path, bitstream['bitstream_id'],
                                                   error)) from error
