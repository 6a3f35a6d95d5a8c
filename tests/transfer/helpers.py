"""Helpers of the transfer tests: local trees and recorded calls."""

import hashlib
import os


def write_tree(root, files):
    """Create ``files`` (relative path -> bytes, or None for an empty directory)."""
    for relative, content in files.items():
        path = os.path.join(root, *relative.split('/'))
        if content is None:
            os.makedirs(path, exist_ok=True)
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as stream:
            stream.write(content)


def read_tree(root):
    """Return relative path -> bytes of every file, None for every empty directory."""
    found = {}
    for directory, folders, files in os.walk(root):
        relative_dir = os.path.relpath(directory, root).replace(os.sep, '/')
        prefix = '' if relative_dir == '.' else relative_dir + '/'
        if not folders and not files and prefix:
            found[prefix.rstrip('/')] = None
        for name in files:
            with open(os.path.join(directory, name), 'rb') as stream:
                found[prefix + name] = stream.read()
    return found


def bitstream_gets(server):
    """The GETs of bitstreams from the download controller (``/download/?bitstream=``)."""
    return [call for call in server.calls
            if call.method is None and 'bitstream' in call.query]


def offset_of(call):
    """The ``offset`` a bitstream download asked for."""
    return int(call.query.get('offset') or call.form.get('offset') or 0)


def md5_of(data):
    """The MD5 hex digest of ``data``."""
    return hashlib.md5(data).hexdigest()


def stored_items(server, folder_id):
    """What the server holds in a folder, read from its database and assetstore.

    :returns: item name -> list of revisions (oldest first), each a list of
        ``(bitstream name, size, recorded md5, md5 of the stored bytes)``
    """
    items = {}
    for item in server.query('SELECT item.item_id, item.name FROM item JOIN item2folder '
                             'ON item.item_id = item2folder.item_id '
                             'WHERE item2folder.folder_id = ?', folder_id):
        revisions = []
        for revision in server.query('SELECT itemrevision_id FROM itemrevision '
                                     'WHERE item_id = ? ORDER BY revision', item['item_id']):
            revisions.append([
                (row['name'], row['sizebytes'], row['checksum'],
                 _stored_md5(server, row['checksum']))
                for row in server.query('SELECT name, sizebytes, checksum FROM bitstream '
                                        'WHERE itemrevision_id = ? ORDER BY bitstream_id',
                                        revision['itemrevision_id'])])
        assert item['name'] not in items, 'two items named {0}'.format(item['name'])
        items[item['name']] = revisions
    return items


def _stored_md5(server, checksum):
    digest = hashlib.md5()
    with open(server.assetstore_file(checksum), 'rb') as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def holds_exactly(server, folder_id, files):
    """Assert the folder holds one item per file, whose latest revision holds exactly
    that file's bytes (name, size, recorded md5 and stored bytes)."""
    items = stored_items(server, folder_id)
    assert sorted(items) == sorted(files)
    for name, content in files.items():
        md5 = md5_of(content)
        assert items[name][-1] == [(name, len(content), md5, md5)], name
