"""Core API area ``item``: create, get, delete, metadata, share, move, searches, links."""

import time
from urllib.parse import urlsplit

from pydas.testing.policies import (check_privacy, create_or_update, is_number, logged_in,
                                    update_folder_or_item)
from pydas.testing.registry import ApiError, api_method
from pydas.testing.storage import ADMIN, READ, WRITE, as_id

NO_ITEM = "This item doesn't exist or you don't have the permissions."
NO_REVISION = 'The item must have at least one revision to have metadata'
BAD_DESTINATION = 'Error in params when checking Folder Policy.'
SEARCH_ORDERS = ('view', 'relevance', 'name', 'date')


def item_details(store, item, head_only=False):
    """An item with ``folder_id``, ``revisions`` (each with ``bitstreams``) and
    ``extraFields`` appended, as ``midas.item.get`` returns it."""
    folders = store.item_folders(item['item_id'])
    if folders:
        item['folder_id'] = folders[0]['folder_id']
    if head_only:
        head = store.head_revision(item['item_id'])
        revisions = [head] if head else []
    else:
        revisions = store.revisions(item['item_id'])
    item['revisions'] = [dict(revision, bitstreams=store.bitstreams(revision['itemrevision_id']))
                         for revision in revisions]
    item['extraFields'] = []
    return item


def metadata_revision(store, item_id, number):
    """The revision metadata methods act on: ``number`` (a parameter value) or HEAD."""
    if number is None:
        head = store.head_revision(item_id)
        if head is None:
            raise ApiError(-151, NO_REVISION)
        return head
    if as_id(number) < 1:
        # Midas concatenates the cast number to the message.
        raise ApiError(-150, 'Revision Numbers must be integers greater than 0.%d'
                       % max(as_id(number), 0))
    if store.head_revision(item_id) is None:
        raise ApiError(-151, NO_REVISION)
    revision = store.revision_by_number(item_id, number)
    if revision is None:
        raise ApiError(-150, 'This revision number is invalid for this item.')
    return revision


@api_method('midas.item.create')
def item_create(call):
    """Create an item or update an existing one if one exists by the uuid passed.

    :param token: Authentication token
    :param parentid: The id of the parent folder. Only required for creating a new item
    :param name: The name of the item to create
    :param description: (Optional) The description of the item
    :param uuid: (Optional) Uuid of the item; a new item gets a fresh one when absent
    :param privacy: (Optional) [Public|Private], default will inherit from parent folder
    :param updatebitstream: (Optional) If set, the bitstream's name will be updated
        simultaneously with the item's name if and only if the item has already existed and
        its latest revision contains only one bitstream.
    :returns: The item object that was created
    """
    name, user, existing = create_or_update(call, 'item', 'Cannot create item anonymously')
    store = call.store
    if existing:
        return _update_item(call, user, existing)
    parent_id = call.require('parentid')
    if store.folder(parent_id) is None:
        raise ApiError(-150, "Parent folder doesn't exist")
    if not store.can_access_folder(user, parent_id, WRITE):
        raise ApiError(-151, 'Invalid permissions on parent folder')
    if name == '':
        raise ApiError(0, 'Name cannot be empty.')
    item_id = store.create_item(user, name, parent_id, call.param('description', ''),
                                call.param('uuid') or None)
    privacy = call.param('privacy')
    if privacy is not None:
        # As in Midas, a bad value fails after the item was created: the item stays (§7.4 #22).
        check_privacy(privacy)
        store.set_privacy('item', item_id, privacy)
    # Returned as created, not reloaded: database defaults come back empty.
    return dict(store.item(item_id), sizebytes=None, thumbnail_id=None, view=None,
                download=None)


def _update_item(call, user, item_id):
    store = call.store
    with store.transaction():
        update_folder_or_item(call, user, 'item', item_id)
        fields = {key[1:]: value for key, value in call.params.items()
                  if key.startswith('_') and len(key) > 1}
        head = store.head_revision(item_id)
        if fields and head is None:
            raise ApiError(-151, NO_REVISION)
        for element, value in fields.items():
            store.set_metadata(head['itemrevision_id'], element, value)
        if call.has('updatebitstream') and head is not None:
            bitstreams = store.bitstreams(head['itemrevision_id'])
            if len(bitstreams) == 1:
                store.execute('UPDATE bitstream SET name = ? WHERE bitstream_id = ?',
                              store.item(item_id)['name'], bitstreams[0]['bitstream_id'])
    return store.item(item_id)


@api_method('midas.item.get')
def item_get(call):
    """Get an item's information.

    :param token: (Optional) Authentication token
    :param id: The item id
    :param head: (Optional) only list the most recent revision
    :returns: The item object
    """
    item_id = call.require('id')
    user = call.user
    if not call.store.can_access_item(user, item_id, READ):
        raise ApiError(-151, NO_ITEM)
    return item_details(call.store, call.store.item(item_id), call.has('head'))


@api_method('midas.item.delete')
def item_delete(call):
    """Delete an item.

    :param token: Authentication token
    :param id: The id of the item
    """
    item_id = call.require('id')
    user = logged_in(call, -101, 'Unable to find user')
    if not call.store.can_access_item(user, item_id, ADMIN):
        raise ApiError(-151, NO_ITEM)
    call.store.delete_item(item_id)


@api_method('midas.item.getmetadata')
def item_getmetadata(call):
    """Answer the metadata of one revision of an item (the head by default).

    :param token: (Optional) Authentication token
    :param id: id of the item
    :param revision: (Optional) revision number to read instead of the head
    :returns: the revision's metadata rows; an error when the item has no revision or not
        the one asked for
    """
    item_id = call.require('id')
    user = call.user
    if not call.store.can_access_item(user, item_id, READ):
        raise ApiError(-151, NO_ITEM)
    revision = metadata_revision(call.store, item_id, call.param('revision'))
    return call.store.metadata(revision['itemrevision_id'])


@api_method('midas.item.setmetadata')
def item_setmetadata(call):
    """Store one metadata value on a revision of an item (the head by default).

    :param token: Authentication token
    :param itemId: id of the item
    :param element: metadata element, e.g. ``contributor``
    :param value: value to store
    :param qualifier: (Optional) metadata qualifier; empty when absent
    :param type: (Optional) metadata type number; 0 (text) when absent
    :param revision: (Optional) revision number to write instead of the head
    :returns: true; an error when the item has no revision or not the one asked for
    """
    item_id = call.require('itemId')
    element = call.require('element')
    value = call.require('value')
    user = call.user
    if not call.store.can_access_item(user, item_id, WRITE):
        raise ApiError(-151, "This item doesn't exist or you don't have write permission.")
    revision = metadata_revision(call.store, item_id, call.param('revision'))
    call.store.set_metadata(revision['itemrevision_id'], element, value,
                            call.param('qualifier', ''), _metadata_type(call.param('type')))
    return True


def _metadata_type(value):
    # Midas casts with (int): anything that is not a number means 0 (text).
    return int(value) if is_number(value) else 0


def check_destination(call, user, item_id, item_level):
    """Item ``item_level`` and destination WRITE, with Midas's error precedence."""
    store = call.store
    destination_id = call.param('dstfolderid')
    destination = store.folder(destination_id)
    if (not store.can_access_item(user, item_id, item_level)
            or (destination is not None
                and not store.can_access_folder(user, destination_id, WRITE))):
        raise ApiError(-151, NO_ITEM)
    if destination is None:
        # Midas runs the folder policy check on the missing folder (§7.4 #33).
        raise ApiError(0, BAD_DESTINATION)
    return destination


@api_method('midas.item.share')
def item_share(call):
    """Put an item into one more folder, keeping it where it already is.

    :param token: Authentication token
    :param id: id of the item
    :param dstfolderid: id of the folder that gains the item
    :returns: the item
    """
    item_id = call.require('id')
    call.require('dstfolderid')
    user = logged_in(call, -151, 'Cannot share item anonymously')
    destination = check_destination(call, user, item_id, READ)
    store = call.store
    # Midas returns the item as loaded before sharing (its privacy_status is stale).
    item = store.item(item_id)
    with store.transaction():
        if not store.value('SELECT 1 FROM item2folder WHERE item_id = ? AND folder_id = ?',
                           as_id(item_id), destination['folder_id']):
            store.link_item(item_id, destination['folder_id'], rename=False)
            # Every group of the destination gets READ, replacing (maybe lowering) its level
            # on the item, as in Midas (§7.4 #25).
            for row in store.all('SELECT group_id FROM folderpolicygroup WHERE folder_id = ?',
                                 destination['folder_id']):
                store.set_policy('item', item_id, 'group', row['group_id'], READ)
    item['owningfolders'] = store.item_folders(item_id)
    return item


@api_method('midas.item.move')
def item_move(call):
    """Take an item out of one of its folders and put it into another.

    :param token: Authentication token
    :param id: id of the item
    :param srcfolderid: id of the folder the item leaves
    :param dstfolderid: id of the folder the item joins
    :returns: the item
    """
    item_id = call.require('id')
    source_id = call.require('srcfolderid')
    call.require('dstfolderid')
    user = logged_in(call, -151, 'Cannot move item anonymously')
    destination = check_destination(call, user, item_id, ADMIN)
    store = call.store
    if store.folder(source_id) is None:
        raise ApiError(-151, 'Unable to load source or destination folder.')
    # As in Midas, the item need not be in the source folder: then this only adds a link
    # (§7.4 #26), and none when the item is in the destination already (Midas 3.4.2 lists
    # the destination once among the owning folders).
    with store.transaction():
        if as_id(source_id) != destination['folder_id']:
            if not store.value('SELECT 1 FROM item2folder WHERE item_id = ? AND folder_id = ?',
                               as_id(item_id), destination['folder_id']):
                store.link_item(item_id, destination['folder_id'])
            store.copy_folder_policies(destination['folder_id'], 'item', item_id)
            store.execute('DELETE FROM item2folder WHERE item_id = ? AND folder_id = ?',
                          as_id(item_id), as_id(source_id))
    item = store.item(item_id)
    item['owningfolders'] = store.item_folders(item_id)
    return item


@api_method('midas.item.searchbyname')
@api_method('midas.item.searchbynameandfolder')
@api_method('midas.item.searchbynameandfoldername')
def item_search(call):
    """Find the readable items named exactly ``name``, optionally only in one folder.

    :param token: (Optional) Authentication token
    :param name: exact item name to look for
    :param folderId: (Optional) only items in the folder with this id
    :param folderName: (Optional) only items in a folder with this name
    :returns: ``{'items': [...]}``, in id order
    """
    name = call.require('name')
    user = call.user
    store = call.store
    if call.has('folderId'):
        # by name first (CROSS JOIN keeps the order): a folder may hold many items
        rows = store.all('SELECT DISTINCT item_id FROM item CROSS JOIN item2folder '
                         'USING (item_id) WHERE item.name = ? AND folder_id = ? ORDER BY item_id',
                         name, as_id(call.param('folderId')))
    elif call.has('folderName'):
        rows = store.all('SELECT DISTINCT item_id FROM item JOIN item2folder USING (item_id) '
                         'JOIN folder USING (folder_id) WHERE item.name = ? AND folder.name = ? '
                         'ORDER BY item_id', name, call.param('folderName'))
    else:
        rows = store.all('SELECT item_id FROM item WHERE name = ? ORDER BY item_id', name)
    items = []
    for row in rows:
        if store.can_access_item(user, row['item_id'], READ):
            item = store.item(row['item_id'])
            readable = [folder['folder_id'] for folder in store.item_folders(item['item_id'])
                        if store.can_access_folder(user, folder['folder_id'], READ)]
            if readable:
                item['folder_id'] = readable[0]
            items.append(item)
    return {'items': items}


@api_method('midas.resource.search')
def resource_search(call):
    """Search resources for the given words.

    :param token: (Optional) Authentication token
    :param search: The search query
    :param order: (Optional) The order of the results: view (default), relevance, name, date
    :returns: An array of matching resources
    """
    words = call.require('search')
    order = call.param('order', 'view')
    user = call.user
    if order not in SEARCH_ORDERS:
        raise ApiError(0, 'Error in order parameter, not one of the expected values.')
    found = _search(call.store, user, words)
    counts = {kind: sum(1 for result in found if result['resultType'] == kind)
              for kind in ('item', 'folder', 'community', 'user')}
    return {'nitems': counts['item'], 'nfolders': counts['folder'],
            'ncommunities': counts['community'], 'nusers': counts['user'],
            'results': _sort_results(found, order)}


def _search(store, user, words):
    like = '%' + words + '%'
    results = []
    for row in store.all('SELECT item_id FROM item WHERE name LIKE ? OR description LIKE ? '
                         'ORDER BY item_id', like, like):
        if store.can_access_item(user, row['item_id'], READ):
            item = store.item(row['item_id'])
            results.append(_result(item, 'item', item['date_update']))
    for row in store.all("SELECT folder_id FROM folder WHERE name LIKE ? AND name NOT IN "
                         "('Public', 'Private') ORDER BY folder_id", like)[:15]:
        if store.can_access_folder(user, row['folder_id'], READ):
            folder = store.folder(row['folder_id'])
            results.append(_result(folder, 'folder', folder['date_update']))
    for row in store.all('SELECT community_id FROM community WHERE name LIKE ? '
                         'ORDER BY community_id', like)[:15]:
        if store.can_access_community(user, row['community_id'], READ):
            community = store.community(row['community_id'])
            results.append(_result(community, 'community', community['creation']))
    for row in store.all('SELECT user_id FROM user WHERE (firstname LIKE ? OR lastname LIKE ?) '
                         'AND privacy = 0 ORDER BY user_id', like, like)[:15]:
        found = store.user(row['user_id'])
        del found['email']
        results.append(_result(found, 'user', found['creation']))
    return results


def _result(resource, kind, date):
    stamp = time.strptime(date, '%Y-%m-%d %H:%M:%S')
    return dict(resource, resultType=kind, formattedDate=time.strftime('%m/%d/%Y', stamp))


def _sort_results(results, order):
    if order == 'view':
        return sorted(results, key=lambda result: -int(result.get('view') or 0))
    if order == 'date':
        return sorted(results, key=lambda result: result.get('date_update')
                      or result.get('creation'), reverse=True)
    # 'name' and 'relevance' (no scores without Solr): by name, case-insensitive.
    return sorted(results, key=lambda result: (result.get('name')
                                               or result.get('lastname', '')).lower())


@api_method('midas.link.create')
def link_create(call):
    """Make a new item in a folder whose only bitstream points at a URL (POST only).

    :param token: Authentication token
    :param folderid: id of the folder that gets the new item
    :param url: absolute URL the bitstream points at; it also names the bitstream, and the
        item unless ``itemname`` is given
    :param itemname: (Optional) name for the new item instead of the URL
    :param length: (Optional) size in bytes announced for the linked file; 0 when absent
    :param checksum: (Optional) MD5 announced for the linked file
    :returns: the new item
    """
    if call.verb != 'POST':
        raise ApiError(-153, 'POST method required')
    folder_id = call.require('folderid')
    url = call.require('url')
    user = logged_in(call, -151, 'Anonymous users may not create a link')
    store = call.store
    if store.folder(folder_id) is None:
        raise ApiError(-150, 'Folder corresponding to folderid does not exist')
    if not store.can_access_folder(user, folder_id, WRITE):
        raise ApiError(-151, 'Invalid policy or folderid')
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        raise ApiError(-150, 'Invalid URL')
    length = call.param('length', '0')
    if not is_number(length) or int(length) < 0:
        raise ApiError(-150, 'Invalid length')
    with store.transaction():
        # Only the folder's policies, no creator policy, as in Midas (§7.4 #27).
        item_id = store.create_item(user, call.param('itemname', url), folder_id,
                                    creator_policy=False)
        revision = store.create_revision(item_id, user['user_id'], 'Initial revision')
        store.add_bitstream(revision['itemrevision_id'], url, 'url', int(length),
                            call.param('checksum', ' '), url)
        store.update_item_size(item_id, revision['itemrevision_id'])
    return dict(store.item(item_id), thumbnail_id=None, view=None, download=None)
