"""Downloads: the API methods that redirect, bitstream lookups, and the ``/download/``
controller that streams files and zip archives from disk (§6.2)."""

import email.utils
import functools
import os
import re
import time
import zipfile

from pydas.testing.http import FatalError, FileBody, Response, error_page
from pydas.testing.policies import is_number
from pydas.testing.registry import ApiError, Redirect, api_method
from pydas.testing.storage import CHUNK, COMMUNITY_ROOT, READ, as_id

NO_ITEM = "This item doesn't exist or you don't have the permissions."
NO_FOLDER = "This folder doesn't exist or you don't have the permissions."
NO_BITSTREAM = 'The bitstream does not exist or you do not have the permissions'
DEFLATE_LIMIT = 20 << 20
MULTIPLE_ARCHIVE = 'Custom'
FILE_HEADERS = (('X-Powered-By', 'PHP/8.2.36'), ('Pragma', 'no-cache'),
                ('Cache-Control', 'must-revalidate, post-check=0, pre-check=0'))
ZIP_HEADERS = (('X-Powered-By', 'PHP/8.2.36'), ('Expires', 'Thu, 19 Nov 1981 08:52:00 GMT'),
               ('Content-Type', 'application/x-zip'))


def _with_token(location, call):
    # Midas appends the caller's valid token, unencoded, as authToken.
    return location + ('&authToken=' + call.token if call.token else '')


@api_method('midas.item.download')
def item_download(call):
    """Download an item.

    :param token: (Optional) Authentication token
    :param id: The id of the item
    :param revision: (Optional) Revision to download. Defaults to latest revision
    :returns: The bitstream(s) in the item
    """
    item_id = call.require('id')
    user = call.user
    if not call.store.can_access_item(user, item_id, READ):
        raise ApiError(-151, NO_ITEM)
    location = '/download/?items=%s' % item_id
    if call.has('revision'):
        location += ',' + call.param('revision')
    return Redirect(_with_token(location, call))


@api_method('midas.folder.download')
def folder_download(call):
    """Download a folder as a zip archive.

    :param token: (Optional) Authentication token
    :param id: The id of the folder (several: comma-separated, one archive)
    :returns: A zip archive of the folder's contents
    """
    folder_ids = call.require('id')
    user = call.user
    for folder_id in folder_ids.split(','):
        if not call.store.can_access_folder(user, folder_id, READ):
            raise ApiError(-151, NO_FOLDER)
    return Redirect(_with_token('/download/?folders=%s' % folder_ids, call))


@api_method('midas.bitstream.download')
def bitstream_download(call):
    """Download a bitstream either by its id or by a checksum.

    :param token: (Optional) Authentication token
    :param id: (Optional) The id of the bitstream
    :param checksum: (Optional) The checksum of the bitstream
    :param name: (Optional) Alternate filename to download as
    :param offset: (Optional) The download offset in bytes (used for resume)
    """
    if not call.has('id') and not call.has('checksum'):
        raise ApiError(-150, 'Either an id or checksum parameter is required')
    if call.has('id'):
        bitstream, _ = bitstream_by_id(call, READ, NO_BITSTREAM, 'Read permission required')
    else:
        bitstream = _readable_by_checksum(call.store, call.user, call.param('checksum'))
    name = call.param('name', bitstream['name'])
    offset = call.param('offset', '0')
    # Neither value is URL-encoded, as in Midas (a line break leaves the 302 without
    # Location: see http.REFUSED_IN_HEADERS).
    return Redirect(_with_token('/download/?bitstream=%s&offset=%s&name=%s'
                                % (bitstream['bitstream_id'], offset, name), call))


def bitstream_by_id(call, level, missing, refused,
                    orphan='Bitstream does not belong to a revision'):
    """The bitstream the ``id`` parameter names and its revision, checking ``level`` on
    the item; the messages differ between the methods in Midas.

    :param missing: the -150 message when there is no such bitstream
    :param refused: the -151 message when the caller lacks ``level``
    :param orphan: the -100 message when the bitstream belongs to no revision (thumbnail)
    :returns: ``(bitstream, revision)``
    """
    bitstream_id = call.require('id')
    user = call.user
    store = call.store
    bitstream = store.bitstream(bitstream_id)
    if bitstream is None:
        raise ApiError(-150, missing)
    revision = store.revision(bitstream['itemrevision_id'])
    if revision is None:
        raise ApiError(-100, orphan)
    if not store.can_access_item(user, revision['item_id'], level):
        raise ApiError(-151, refused)
    return bitstream, revision


def _readable_by_checksum(store, user, checksum):
    for row in store.all('SELECT bitstream.bitstream_id, item_id FROM bitstream JOIN '
                         'itemrevision USING (itemrevision_id) WHERE checksum = ? '
                         'ORDER BY bitstream_id', checksum):
        if store.can_access_item(user, row['item_id'], READ):
            return store.bitstream(row['bitstream_id'])
    raise ApiError(-150, NO_BITSTREAM)


@api_method('midas.bitstream.get')
def bitstream_get(call):
    """Fetch the information about a bitstream.

    :param token: (Optional) Authentication token
    :param id: The id of the bitstream
    :returns: Bitstream dao
    """
    bitstream, revision = bitstream_by_id(call, READ, 'Invalid bitstream id', NO_ITEM,
                                          orphan='Invalid revision id')
    return {'id': bitstream['bitstream_id'], 'name': call.param('name', bitstream['name']),
            'size': bitstream['sizebytes'], 'mimetype': bitstream['mimetype'],
            'checksum': bitstream['checksum'], 'itemrevision_id': revision['itemrevision_id'],
            'item_id': revision['item_id'], 'date': bitstream['date']}


@api_method('midas.bitstream.count')
def bitstream_count(call):
    """Count the bitstreams under a containing resource (uses latest revision of each item).

    :param token: (Optional) Authentication token
    :param uuid: The uuid of the containing resource
    :returns: array(size=>total_size_in_bytes, count=>total_number_of_files)
    """
    uuid = call.require('uuid')
    user = call.user
    store = call.store
    kind, resource_id = _resource_by_uuid(store, uuid)
    if kind == 'item':
        if not store.can_access_item(user, resource_id, READ):
            raise ApiError(-151, 'Invalid policy')
        bitstreams = _head_bitstreams(store, resource_id)
    else:
        if not store.can_access_folder(user, resource_id, READ):
            raise ApiError(-151, 'Invalid policy')
        bitstreams = _folder_bitstreams(store, user, resource_id)
    return {'size': sum(bitstream['sizebytes'] for bitstream in bitstreams),
            'count': len(bitstreams)}


def _resource_by_uuid(store, uuid):
    """('folder', id) or ('item', id); a community counts through its root folder."""
    for table, key, kind in (('community', 'folder_id', 'folder'),
                             ('folder', 'folder_id', 'folder'), ('item', 'item_id', 'item')):
        found = store.value('SELECT %s FROM %s WHERE uuid = ?' % (key, table), uuid)
        if found is not None:
            return kind, found
    if store.value('SELECT 1 FROM itemrevision WHERE uuid = ? UNION '
                   'SELECT 1 FROM user WHERE uuid = ?', uuid, uuid):
        raise ApiError(-100, 'Invalid resource type')
    raise ApiError(-150, 'No resource for the given UUID.')


def _head_bitstreams(store, item_id):
    head = store.head_revision(item_id)
    return store.bitstreams(head['itemrevision_id']) if head else []


def _folder_bitstreams(store, user, folder_id):
    found = []
    for item in store.child_items(folder_id):
        if store.can_access_item(user, item['item_id'], READ):
            found.extend(_head_bitstreams(store, item['item_id']))
    for folder in store.child_folders(folder_id):
        if store.can_access_folder(user, folder['folder_id'], READ):
            found.extend(_folder_bitstreams(store, user, folder['folder_id']))
    return found


# -- the /download/ controller --------------------------------------------------------


def controller(call):
    """Serve ``/download/?bitstream=...``, ``?items=...`` or ``?folders=...``.

    Failures here are HTML pages, not envelopes: 404 for an unknown object, 500 for a bad
    ``authToken`` or a missing permission, as in Midas.
    """
    user = None
    if call.has('authToken'):
        user = call.store.user_for_token(call.param('authToken'))
        if user is None:
            raise FatalError('Invalid token')
    if call.has('bitstream'):
        return _serve_bitstream(call, user)
    if call.has('items'):
        return _serve_item(call, user)
    if call.has('folders'):
        return _serve_folder(call, user)
    return _not_found()


def _not_found():
    return Response(404, [('Content-Type', 'text/html; charset=UTF-8')],
                    error_page('The requested resource was not found'))


def _serve_bitstream(call, user):
    store = call.store
    bitstream = store.bitstream(call.param('bitstream'))
    revision = bitstream and store.revision(bitstream['itemrevision_id'])
    if revision is None:
        return _not_found()
    if not store.can_access_item(user, revision['item_id'], READ):
        raise FatalError('You do not have the permissions to download this bitstream')
    offset = as_id(call.param('offset', '0')) if is_number(call.param('offset')) else 0
    return file_response(store, bitstream, revision['item_id'],
                         call.param('name') or bitstream['name'], offset)


def file_response(store, bitstream, item_id, name, offset=0):
    """A single file: the full size announced even when starting at ``offset`` (quirk)."""
    if bitstream['mimetype'] == 'url':
        raise FatalError('Unable to find file on the disk')
    path = store.bitstream_file(bitstream)
    if not os.path.isfile(path):
        raise FatalError('Unable to find file on the disk')
    size = os.path.getsize(path)
    mimetype = bitstream['mimetype']
    type_header = (('Content-type', mimetype + ';charset=UTF-8')
                   if mimetype.startswith('text/') else ('Content-Type', mimetype))
    # The name is not escaped, as in Midas (§7.7 #46): a '"' stays, non-ASCII goes out as
    # raw UTF-8, and a line break makes the header go unsent (http.REFUSED_IN_HEADERS).
    headers = list(FILE_HEADERS) + [
        ('Last-Modified', email.utils.formatdate(usegmt=True)), ('Accept-Ranges', 'bytes'),
        ('Expires', '0'), type_header,
        ('Content-Disposition', 'attachment; filename="%s"' % name)]
    start = offset if 0 < offset <= size else 0
    # Counted only when the whole file was sent, as in Midas.
    counted = None if start else functools.partial(_count_download, store, item_id)
    # A body shorter than its Content-Length must end with the connection, as in Midas.
    return Response(200, headers, FileBody(path, start, counted), length=size,
                    close=start > 0)


def _count_download(store, item_id):
    store.execute('UPDATE item SET download = download + 1 WHERE item_id = ?', as_id(item_id))


def _serve_item(call, user):
    store = call.store
    item_id, _, number = call.param('items').partition(',')
    item = store.item(item_id)
    if item is None:
        return _not_found()
    if not store.can_access_item(user, item_id, READ):
        raise FatalError('You do not have the permissions to download this item')
    revision = (store.revision_by_number(item_id, number) if number
                else store.head_revision(item_id))
    bitstreams = store.bitstreams(revision['itemrevision_id']) if revision else []
    if len(bitstreams) == 1:
        if bitstreams[0]['mimetype'] == 'url':
            return Response(302, [('Location', bitstreams[0]['path'])])
        return file_response(store, bitstreams[0], item['item_id'], bitstreams[0]['name'])
    if revision is not None:
        # Counted once per archive (even an empty one, when the revision exists).
        _count_download(store, item_id)
    entries = [(bitstream['name'], store.bitstream_file(bitstream)) for bitstream in bitstreams
               if bitstream['mimetype'] != 'url']
    return zip_response(_cut_name(item['name']), entries)


def _serve_folder(call, user):
    """One zip of every listed folder (``folders=1,2``; Midas's own links join with ``-``)."""
    store = call.store
    folders = []
    for folder_id in dict.fromkeys(re.split('[,-]', call.param('folders'))):
        folder = store.folder(folder_id)
        if folder is None:
            return _not_found()
        if not store.can_access_folder(user, folder_id, READ):
            raise FatalError('You do not have the permissions to download this folder')
        folders.append(folder)
    entries = [entry for folder in folders
               for entry in _folder_entries(store, user, folder, folder['name'])]
    if len(folders) == 1:
        name = '%s-%s' % (_archive_prefix(store, folders[0]), _cut_name(folders[0]['name']))
    else:
        name = MULTIPLE_ARCHIVE  # uncertain: the name Midas gives a multi-object download
    return zip_response(name, entries)


def _folder_entries(store, user, folder, path):
    """(archive name, file path or None for an empty file) pairs, recursively (§6.2.3)."""
    for item in store.child_items(folder['folder_id']):
        if not store.can_access_item(user, item['item_id'], READ):
            continue
        _count_download(store, item['item_id'])
        head = store.head_revision(item['item_id'])
        if head is None:
            yield '%s/%s' % (path, item['name']), None
            continue
        bitstreams = [bitstream for bitstream in store.bitstreams(head['itemrevision_id'])
                      if bitstream['mimetype'] != 'url']
        flat = len(bitstreams) == 1 and bitstreams[0]['name'] == item['name']
        for bitstream in bitstreams:
            name = (path if flat else '%s/%s' % (path, item['name'])) + '/' + bitstream['name']
            yield name, store.bitstream_file(bitstream)
    for child in store.child_folders(folder['folder_id']):
        if store.can_access_folder(user, child['folder_id'], READ):
            yield from _folder_entries(store, user, child, '%s/%s' % (path, child['name']))


def _archive_prefix(store, folder):
    """The community name, or the owner's first and last name, of a folder's tree."""
    while folder['parent_id'] > 0:
        folder = store.folder(folder['parent_id'])
    if folder['parent_id'] == COMMUNITY_ROOT:
        return store.value('SELECT name FROM community WHERE folder_id = ?', folder['folder_id'])
    owner = store.one('SELECT firstname, lastname FROM user WHERE folder_id = ?',
                      folder['folder_id']) or {'firstname': '', 'lastname': ''}
    return owner['firstname'] + owner['lastname']


def _cut_name(name):
    """A name cut to its first 50 bytes (UTF-8), as Midas does for archive names."""
    return name.encode('utf-8')[:50].decode('utf-8', 'ignore')


def zip_response(name, entries):
    """A streamed zip archive (chunked; no Content-Length) of (archive name, path) pairs."""
    headers = list(ZIP_HEADERS) + [
        ('Content-Disposition', 'attachment; filename="%s.zip"' % name),
        ('Pragma', 'public'), ('Cache-Control', 'public, must-revalidate'),
        ('Content-Transfer-Encoding', 'binary')]
    return Response(200, headers, zip_chunks(entries))


class _Sink(object):
    """A write-only, non-seekable file that collects what ``zipfile`` writes."""

    def __init__(self):
        self.parts = []

    def write(self, data):
        self.parts.append(bytes(data))
        return len(data)

    def flush(self):
        pass

    def take(self):
        data = b''.join(self.parts)
        self.parts = []
        return data


def zip_chunks(entries):
    """Yield a zip archive of (archive name, file path or None) pairs, chunk by chunk.

    Files under 20 MiB are deflated, larger ones stored (as ZipStream does in Midas);
    an archive without entries is the 22-byte empty zip.
    """
    sink = _Sink()
    stamp = time.localtime()[:6]
    with zipfile.ZipFile(sink, 'w') as archive:
        for name, path in entries:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.file_size = os.path.getsize(path) if path else 0
            info.compress_type = (zipfile.ZIP_DEFLATED if info.file_size < DEFLATE_LIMIT
                                  else zipfile.ZIP_STORED)
            with archive.open(info, 'w') as target:
                if path:
                    with open(path, 'rb') as source:
                        for chunk in iter(lambda: source.read(CHUNK), b''):
                            target.write(chunk)
                            yield sink.take()
            yield sink.take()
    yield sink.take()
