"""Core API area ``upload``: upload tokens, streamed (resumable) uploads, offsets (§6.1).

An upload token ``<user>/<item>/<64 random>`` names a placeholder file under the data
directory's ``tmp/``; ``midas.upload.perform`` appends the request body to it (1 MiB at a
time, hashing as it goes) until it holds ``length`` bytes, then moves it into the
assetstore. A short body leaves the partial file for a later perform to complete. The
``lag_after_cut`` fault makes the end of a cut body reach the partial late
(:mod:`pydas.testing.lagging`).
"""

import os

from pydas.checksums import ReceivingMD5, file_md5, md5_state
from pydas.testing import lagging
from pydas.testing.policies import is_number, logged_in
from pydas.testing.registry import ApiError, api_method
from pydas.testing.storage import CHUNK, READ, WRITE, as_id, random_string


@api_method('midas.upload.generatetoken')
def upload_generatetoken(call):
    """Generate an upload token that acts as the authentication token for the upload.

    :param token: Authentication token
    :param itemid: The id of the item to upload into.
    :param folderid: The id of the folder to create a new item in and then upload to.
    :param itemname: (Optional) If passing folderid, this is the name of the new item.
    :param itemdescription: (Optional) If passing folderid, the description of the new item.
    :param filename: The filename of the file you will upload, will be used as the
        bitstream's name.
    :param checksum: (Optional) MD5 of the content; a known one answers an empty token
    :returns: An upload token that can be used to upload a file. If checksum is passed and
        the token returned is blank, the server already has this file and there is no need
        to follow this call with a call to upload.perform.
    """
    filename = call.require('filename')
    if not call.has('itemid') and not call.has('folderid'):
        raise ApiError(-150, 'Parameter itemid or folderid must be defined')
    if call.has('itemid') and call.has('folderid'):
        raise ApiError(-150, 'Parameter itemid or folderid must be defined, but not both')
    user = logged_in(call, -151, 'Anonymous users may not upload')
    item_id = _target_item(call, user, filename)
    checksum = call.param('checksum')
    if checksum and _attach_existing(call, user, item_id, filename, checksum):
        return {'token': ''}
    return {'token': create_upload_token(call.store, user['user_id'], item_id)}


def _target_item(call, user, filename):
    store = call.store
    if call.has('itemid'):
        item_id = call.param('itemid')
        if store.item(item_id) is None:
            raise ApiError(0, 'Error in parameter itemdao or policy when checking Item policy.')
        if not store.can_access_item(user, item_id, WRITE):
            raise ApiError(-151, 'Invalid policy or itemid')
        return as_id(item_id)
    folder_id = call.param('folderid')
    if store.folder(folder_id) is None:
        raise ApiError(-150, "Parent folder corresponding to folderid doesn't exist")
    if not store.can_access_folder(user, folder_id, WRITE):
        raise ApiError(-151, 'Invalid policy or folderid')
    return store.create_item(user, call.param('itemname', filename), folder_id,
                             call.param('itemdescription', ''))


def _attach_existing(call, user, item_id, filename, checksum):
    """The checksum short-cut (§6.1.6): link known content into the HEAD revision.

    Only the first bitstream with this checksum is considered, as in Midas; thumbnails and
    links are skipped (Midas would crash on a thumbnail).
    """
    store = call.store
    known = store.one("SELECT * FROM bitstream WHERE checksum = ? AND itemrevision_id > 0 "
                      "AND mimetype != 'url' ORDER BY bitstream_id LIMIT 1", checksum)
    if known is None:
        return False
    owner = store.revision(known['itemrevision_id'])
    if owner is None or not store.can_access_item(user, owner['item_id'], READ):
        return False
    with store.transaction():
        head = store.head_revision(item_id) or store.create_revision(
            item_id, user['user_id'], 'Initial revision')
        if not store.value('SELECT 1 FROM bitstream WHERE itemrevision_id = ? AND name = ?',
                           head['itemrevision_id'], filename):
            store.add_bitstream(head['itemrevision_id'], filename, known['mimetype'],
                                known['sizebytes'], checksum, known['path'],
                                known['assetstore_id'])
            store.update_item_size(item_id, head['itemrevision_id'])
    return True


def create_upload_token(store, user_id, item_id):
    """Create an empty placeholder file and return its upload token."""
    token = '%s/%s/%s' % (user_id, item_id, random_string(64))
    path = os.path.join(store.tmp_dir, *token.split('/'))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, 'wb').close()
    store.execute('INSERT INTO uploadtoken (token, user_id, item_id, path, creation) '
                  'VALUES (?, ?, ?, ?, datetime())', token, as_id(user_id), as_id(item_id), path)
    return token


def _placeholder(store, upload_token):
    row = store.one('SELECT * FROM uploadtoken WHERE token = ?', upload_token)
    return row['path'] if row and os.path.isfile(row['path']) else None


@api_method('midas.upload.perform')
def upload_perform(call):
    """Receive the content for an upload token (PUT or POST) and add it to the token's item.

    :param uploadtoken: token from ``midas.upload.generatetoken``
    :param filename: name of the new bitstream
    :param length: total size in bytes of the file
    :param mode: (Optional) ``stream`` (the body is the content; the default) or
        ``multipart`` (a form upload)
    :param revision: (Optional) a revision number or ``head`` to add the file to that
        revision; without it the file starts a new revision
    :param changes: (Optional) change note stored on the revision
    :param license: (Optional) license of the revision
    :returns: the item that received the file
    """
    upload_token = call.require('uploadtoken')
    filename = call.require('filename')
    length = call.require('length')
    if call.verb not in ('POST', 'PUT'):
        raise ApiError(-153, 'POST or PUT method required')
    user_id, item_id = _token_owner(call, upload_token)
    number = call.param('revision')
    if number is not None and number.lower() != 'head' and \
            call.store.revision_by_number(item_id, number) is None:
        raise ApiError(-150, 'Unable to find revision')
    mode = call.param('mode', 'stream')
    if mode == 'stream':
        path, checksum = _receive(call, upload_token, as_id(length))
    elif mode == 'multipart':
        path, filename, checksum = _receive_multipart(call)
    else:
        raise ApiError(-150, 'Invalid upload mode')
    return _finish(call, user_id, item_id, filename, path, checksum, mode == 'stream')


def _token_owner(call, upload_token):
    store = call.store
    parts = upload_token.split('/')
    user = store.user(parts[0]) if len(parts) == 3 else None
    if user is None:
        raise ApiError(-150, 'Invalid user id from upload token')
    if store.item(parts[1]) is None:
        raise ApiError(-150, 'Unable to find item')
    if not store.can_access_item(user, parts[1], WRITE):
        raise ApiError(-151, 'Permission error')
    return user['user_id'], as_id(parts[1])


def _receive(call, upload_token, length):
    """Append the body to the placeholder until it holds ``length`` bytes.

    :returns: (placeholder path, MD5 of the whole content)
    """
    path = _placeholder(call.store, upload_token)
    if path is None:
        raise ApiError(-141, 'Invalid upload token %s' % upload_token)
    late_writes = lagging.generation(path)
    lag = call.server.faults.pending_lag(call.method) if call.verb == 'PUT' else None
    digest, size = md5_state(path)
    # Each chunk is written before the next is read: a dropped connection keeps its data.
    # Midas's read loop also stops at a chunk that is exactly "0" (PHP falsiness, §7.6 #43);
    # not emulated: no client can work around that data loss, so tests gain nothing.
    with open(path, 'ab') as output, \
            ReceivingMD5(digest, min(CHUNK, max(length - size, 1)), length - size) as md5:
        sink = output if lag is None else lagging.HeldTail(output, lag['held_bytes'])
        try:
            while size < length and call.body is not None:
                buffer = md5.buffer()
                view = memoryview(buffer)
                count = call.body.readinto(view[:length - size])
                if not count:
                    break
                sink.write(view[:count])
                md5.update(buffer, count)
                size += count
        except Exception:  # the connection broke (cut, reset, timeout, bad framing)
            if lag is not None and call.server.faults.take_lag(call.method) is not None:
                lagging.append_later(path, sink.take(), lag['duration'], lag['steps'])
            elif lag is not None:
                sink.release()
            raise
        if lag is not None:
            sink.release()
    if size < length:
        raise ApiError(-105, 'Failed to upload file - %d/%d bytes transferred' % (size, length))
    lagging.wait(path)
    if lagging.generation(path) != late_writes:
        # late writes of an earlier, cut perform went into the partial meanwhile
        return path, file_md5(path)[0]
    return path, md5.hexdigest()


def _receive_multipart(call):
    # Midas wants a non-file ``file`` parameter as well as the file part itself.
    if 'file' not in call.files or not call.has('file'):
        raise ApiError(-150, 'Parameter file is not defined')
    part = call.files['file']
    return part.path, part.filename, part.checksum


def _finish(call, user_id, item_id, filename, path, checksum, consume_token):
    store = call.store
    if not store.item_folders(item_id):
        raise ApiError(-150, 'Item does not have a parent folder')
    with store.transaction():
        revision = _target_revision(call, user_id, item_id)
        store.add_bitstream_from_file(revision['itemrevision_id'], filename, path, checksum)
        store.update_item_size(item_id, revision['itemrevision_id'])
        # A multipart upload leaves its token and placeholder behind, as in Midas (§7.6 #45).
        if consume_token:
            store.execute('DELETE FROM uploadtoken WHERE token = ?',
                          call.param('uploadtoken'))
    return store.item(item_id)


def _target_revision(call, user_id, item_id):
    """The revision receiving the bitstream (table of §6.1.5)."""
    store = call.store
    number = call.param('revision')
    changes = call.param('changes', '')
    license_id = call.param('license')
    if number is None or (number.lower() == 'head' and store.head_revision(item_id) is None):
        return store.create_revision(item_id, user_id, changes,
                                     int(license_id) if is_number(license_id) else None)
    revision = (store.head_revision(item_id) if number.lower() == 'head'
                else store.revision_by_number(item_id, number))
    # Midas overwrites the changes of the revision it uploads into (default "").
    store.execute('UPDATE itemrevision SET changes = ? WHERE itemrevision_id = ?', changes,
                  revision['itemrevision_id'])
    if is_number(license_id):
        store.execute('UPDATE itemrevision SET license_id = ? WHERE itemrevision_id = ?',
                      int(license_id), revision['itemrevision_id'])
    return revision


@api_method('midas.upload.getoffset')
def upload_getoffset(call):
    """Get the size of a partially completed upload.

    :param uploadtoken: The upload token for the file
    :returns: [offset] The size of the file currently on the server
    """
    path = _placeholder(call.store, call.require('uploadtoken'))
    # An unknown or consumed token: PHP's filesize() fails and the offset is "".
    return {'offset': os.path.getsize(path) if path else None}
