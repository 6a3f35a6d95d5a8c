"""Core API: resources by uuid, paths, item existence/duplication/search, bitstream edits,
and the admin database clean-up (API §4.48)."""

from pydas.testing.downloads import bitstream_by_id
from pydas.testing.http import FatalError
from pydas.testing.items import NO_ITEM, check_destination
from pydas.testing.policies import logged_in
from pydas.testing.registry import ApiError, api_method
from pydas.testing.storage import ADMIN, READ, WRITE, as_id, new_uuid

# Resource type codes (§3.10) and where a uuid is looked up, in Midas's order (§3.1).
COMMUNITY, FOLDER, ITEM, REVISION, USER = 6, 4, 1, 3, 2
UUID_TABLES = ((COMMUNITY, 'community', 'community_id'), (FOLDER, 'folder', 'folder_id'),
               (ITEM, 'item', 'item_id'), (REVISION, 'itemrevision', 'itemrevision_id'),
               (USER, 'user', 'user_id'))
INVALID_BITSTREAM = 'Invalid bitstream id'


def resource_by_uuid(store, uuid):
    """``(type code, id)`` of the first resource with this uuid, or None."""
    for kind, table, key in UUID_TABLES:
        found = store.value('SELECT %s FROM %s WHERE uuid = ?' % (key, table), uuid)
        if found is not None:
            return kind, found
    return None


def _resource_object(store, kind, resource_id):
    loaders = {COMMUNITY: store.community, FOLDER: store.folder, ITEM: store.item,
               REVISION: store.revision, USER: store.user}
    return loaders[kind](resource_id)


@api_method('midas.resource.get')
def resource_get(call):
    """Get a resource by its UUID.

    :param uuid: Universal identifier for the resource
    :param folder: (Optional) If set, will return the folder instead of the community record
    :returns: The resource's dao
    """
    found = resource_by_uuid(call.store, call.require('uuid'))
    if found is None:
        raise ApiError(-150, 'No resource for the given UUID.')
    kind, resource_id = found
    if kind == COMMUNITY and call.has('folder'):
        return {'type': FOLDER, 'id': call.store.community(resource_id)['folder_id']}
    return {'type': kind, 'id': resource_id}


@api_method('midas.path.to.root')
def path_to_root(call):
    """Returns a path of uuids from the given node to the root node.

    :param uuid: Unique identifier of the resource
    :returns: An ordered list of uuids representing a path to the root node
    """
    return _path_to_root(call)


@api_method('midas.path.from.root')
def path_from_root(call):
    """Returns a path of uuids from the root folder to the given node.

    :param uuid: Unique identifier of the resource
    :returns: An ordered list of uuids representing a path from the root node
    """
    return list(reversed(_path_to_root(call)))


def _path_to_root(call):
    # Midas checks no permission here, and resolves no caller (§2.7).
    store = call.store
    found = resource_by_uuid(store, call.require('uuid'))
    if found is None:
        # As recorded in the API document (§7.7 #49): Midas dereferences the missing dao.
        raise FatalError('Call to a member function toArray() on bool')
    kind, resource_id = found
    path = [_resource_object(store, kind, resource_id)]
    if kind == ITEM:
        folders = store.item_folders(resource_id)
        folder = folders[0] if folders else None
    elif kind == FOLDER:
        folder = store.folder(path[0]['parent_id'])
    elif kind == COMMUNITY:
        folder = None
    else:
        raise ApiError(-150, 'Should be a folder, an item or a community.')
    while folder is not None:
        path.append(folder)
        folder = store.folder(folder['parent_id'])
    return path


@api_method('midas.item.exists')
def item_exists(call):
    """Check whether an item with the given name exists in the given folder.

    :param parentid: The id of the parent folder
    :param name: The name of the item
    :returns: array('exists' => bool)
    """
    name = call.require('name')
    parent_id = call.require('parentid')
    user = call.user
    store = call.store
    if store.folder(parent_id) is None:
        raise ApiError(-150, 'Invalid parentid')
    if not store.can_access_folder(user, parent_id, READ):
        raise ApiError(-151, 'Read permission required on folder')
    row = store.one('SELECT item_id FROM item JOIN item2folder USING (item_id) '
                    'WHERE folder_id = ? AND name = ? ORDER BY item_id', as_id(parent_id), name)
    if row is None:
        return {'exists': False}
    return {'exists': True, 'item': store.item(row['item_id'])}


@api_method('midas.item.duplicate')
def item_duplicate(call):
    """Duplicate an item to the destination folder.

    :param token: Authentication token
    :param id: The id of the item
    :param dstfolderid: id of the folder that gets the copy
    :returns: The item object that was created
    """
    item_id = call.require('id')
    call.require('dstfolderid')
    user = logged_in(call, -151, NO_ITEM)
    destination = check_destination(call, user, item_id, READ)
    store = call.store
    with store.transaction():
        copy_id = duplicate_item(store, user, item_id, destination['folder_id'])
    return store.item(copy_id)


def duplicate_item(store, user, item_id, folder_id):
    """Copy an item into a folder: revisions (same numbers), metadata, bitstream records
    sharing the stored files. The copy gets the folder's policies and the caller ADMIN, and
    a de-duplicated name (a choice: the API document does not say; creation renames).

    :returns: the id of the copy
    """
    original = store.item(item_id)
    copy_id = store.create_item(user, original['name'], folder_id, original['description'])
    for revision in store.revisions(item_id):
        copied = store.execute(
            'INSERT INTO itemrevision (item_id, revision, date, changes, user_id, license_id, '
            'uuid) VALUES (?, ?, ?, ?, ?, ?, ?)', copy_id, revision['revision'],
            revision['date'], revision['changes'], revision['user_id'],
            revision['license_id'], new_uuid())
        store.execute('INSERT INTO metadatavalue (metadata_id, itemrevision_id, value) '
                      'SELECT metadata_id, ?, value FROM metadatavalue '
                      'WHERE itemrevision_id = ? ORDER BY metadatavalue_id',
                      copied, revision['itemrevision_id'])
        store.execute('INSERT INTO bitstream (itemrevision_id, assetstore_id, name, mimetype, '
                      'sizebytes, checksum, path, date) SELECT ?, assetstore_id, name, mimetype, '
                      'sizebytes, checksum, path, date FROM bitstream WHERE itemrevision_id = ? '
                      'ORDER BY bitstream_id', copied, revision['itemrevision_id'])
    store.execute('UPDATE item SET sizebytes = ? WHERE item_id = ?', original['sizebytes'],
                  copy_id)
    return copy_id


@api_method('midas.item.search')
def item_search(call):
    """Search items for the given words.

    :param token: (Optional) Authentication token
    :param search: The search query
    :param folder: Parent uuid folder
    :returns: An array of matching resources
    """
    call.require('search')
    call.user  # resolved first, as in Midas: an invalid token fails with -101
    # Midas 3.4.2 calls a search function that no longer exists (§4.48): a PHP fatal
    # error, kept so that clients meet what the real server answers.
    raise FatalError('Call to undefined method SearchComponent::searchItems()')


@api_method('midas.bitstream.edit')
def bitstream_edit(call):
    """Change the properties of a bitstream. Requires write access to the containing item.

    :param token: Authentication token
    :param id: The id of the bitstream to edit
    :param name: (optional) New name for the bitstream
    :param mimetype: (optional) New MIME type for the bitstream
    :returns: The bitstream dao
    """
    bitstream, _ = bitstream_by_id(call, WRITE, INVALID_BITSTREAM,
                                   'Write access on item required')
    store = call.store
    with store.transaction():
        for field in ('name', 'mimetype'):
            if call.has(field):
                store.execute('UPDATE bitstream SET %s = ? WHERE bitstream_id = ?' % field,
                              call.param(field), bitstream['bitstream_id'])
    return store.bitstream(bitstream['bitstream_id'])


@api_method('midas.bitstream.delete')
def bitstream_delete(call):
    """Delete a bitstream. Requires admin privileges on the containing item.

    :param token: Authentication token
    :param id: The id of the bitstream to delete
    """
    bitstream, _ = bitstream_by_id(call, ADMIN, INVALID_BITSTREAM,
                                   'Admin privileges required on the item.')
    # As in Midas, the item's sizebytes is not recomputed (§7.6 #42).
    call.store.delete_bitstream(bitstream['bitstream_id'])


@api_method('midas.admin.database.cleanup')
def admin_database_cleanup(call):
    """Remove orphaned resources in the database. Must be admin to use."""
    user = call.user
    if user is None or str(user['admin']) != '1':
        raise ApiError(-151, 'Only admin users may call this method')
    cleanup_orphans(call.store)


def cleanup_orphans(store):
    """Delete folders whose parent is gone, items in no folder, revisions of no item,
    bitstreams of no revision (thumbnails excepted) and values and policies of nothing."""
    with store.transaction():
        while True:
            orphan = store.value('SELECT folder_id FROM folder WHERE parent_id >= 0 AND '
                                 'parent_id NOT IN (SELECT folder_id FROM folder)')
            if orphan is None:
                break
            store.delete_folder(orphan)
        store.execute('DELETE FROM item2folder WHERE folder_id NOT IN '
                      '(SELECT folder_id FROM folder)')
        for row in store.all('SELECT item_id FROM item WHERE item_id NOT IN '
                             '(SELECT item_id FROM item2folder)'):
            store.delete_item(row['item_id'])
        store.execute('DELETE FROM itemrevision WHERE item_id NOT IN (SELECT item_id FROM item)')
        for row in store.all('SELECT bitstream_id FROM bitstream WHERE itemrevision_id >= 0 '
                             'AND itemrevision_id NOT IN '
                             '(SELECT itemrevision_id FROM itemrevision)'):
            store.delete_bitstream(row['bitstream_id'])
        store.execute('DELETE FROM metadatavalue WHERE itemrevision_id NOT IN '
                      '(SELECT itemrevision_id FROM itemrevision)')
        for kind in ('folder', 'item'):
            for who in ('user', 'group'):
                store.execute('DELETE FROM {0}policy{1} WHERE {0}_id NOT IN '
                              '(SELECT {0}_id FROM {0})'.format(kind, who))
