"""Core API area ``folder``: create, get, children, delete, move."""

from pydas.testing.http import FatalError
from pydas.testing.policies import (check_privacy, create_or_update, logged_in,
                                    update_folder_or_item)
from pydas.testing.registry import ApiError, api_method
from pydas.testing.storage import ADMIN, READ, WRITE, USER_ROOT

NO_FOLDER = "This folder doesn't exist or you don't have the permissions."


def readable_children(store, user, folder_id):
    """The subfolders and items of a folder the caller can READ, sorted by name.

    Sorting is SQLite's binary collation (Midas on MySQL would ignore case).
    """
    folders = [folder for folder in store.child_folders(folder_id)
               if store.can_access_folder(user, folder['folder_id'], READ)]
    items = [dict(item, extraFields=[]) for item in store.child_items(folder_id)
             if store.can_access_item(user, item['item_id'], READ)]
    return folders, items


def _child_named(store, parent_id, name):
    row = store.one('SELECT folder_id FROM folder WHERE parent_id = ? AND name = ? '
                    'ORDER BY folder_id', int(parent_id), name)
    return None if row is None else store.folder(row['folder_id'])


@api_method('midas.folder.create')
def folder_create(call):
    """Create a folder or update an existing one if one exists by the uuid passed.

    :param token: Authentication token
    :param name: The name of the folder to create
    :param description: (Optional) The description of the folder
    :param uuid: (Optional) Uuid of the folder; a new folder gets a fresh one when absent
    :param privacy: (Optional) 'Public' (the default) or 'Private'
    :param parentid: The id of the parent folder. Set this to -1 to create a top level user
        folder.
    :param reuseExisting: (Optional) when present, an existing same-named child of the
        parent is not an error: its id is answered
    :returns: The folder object that was created
    """
    name, user, existing = create_or_update(call, 'folder', 'Cannot create folder anonymously')
    store = call.store
    if existing:
        with store.transaction():
            update_folder_or_item(call, user, 'folder', existing)
        return store.folder(existing)
    parent_id = call.require('parentid')
    with store.transaction():
        if parent_id == str(USER_ROOT):
            folder_id = _create_top_level(call, user, name)
        else:
            folder_id = _create_child(call, user, name, parent_id)
    privacy = call.param('privacy')
    if privacy is not None:
        # Midas validates privacy after creating the folder: a bad value fails, the new
        # folder stays (§7.4 #22).
        check_privacy(privacy)
        store.set_privacy('folder', folder_id, privacy)
    return store.folder(folder_id)


def _create_top_level(call, user, name):
    # parentid=-1: a folder in the caller's home, with no policy at all (Midas bug), or the
    # existing one of that name.
    store = call.store
    found = _child_named(store, user['folder_id'], name)
    if found is not None:
        return found['folder_id']
    if name == '':
        raise ApiError(0, 'Name cannot be empty.')
    return store.insert_folder(name, user['folder_id'], call.param('description', ''),
                               call.param('uuid') or None)


def _create_child(call, user, name, parent_id):
    store = call.store
    if store.folder(parent_id) is None:
        raise ApiError(-150, "Parent doesn't exist")
    if not store.can_access_folder(user, parent_id, WRITE):
        raise ApiError(-151, 'Invalid policy')
    found = _child_named(store, parent_id, name)
    if found is not None:
        if call.has('reuseExisting'):
            return found['folder_id']
        raise ApiError(-150, 'A folder already exists in that parent with that name. '
                       'Pass reuseExisting to reuse it.')
    if name == '':
        raise ApiError(0, 'Name cannot be empty.')
    folder_id = store.insert_folder(name, parent_id, call.param('description', ''),
                                    call.param('uuid') or None)
    store.copy_folder_policies(parent_id, 'folder', folder_id)
    if store.folder_level(user, folder_id) != ADMIN:
        store.set_policy('folder', folder_id, 'user', user['user_id'], ADMIN)
    return folder_id


@api_method('midas.folder.get')
def folder_get(call):
    """Get information about the folder.

    :param token: (Optional) Authentication token
    :param id: The id of the folder
    :returns: The folder object, including its parent object
    """
    folder_id = call.require('id')
    user = call.user
    store = call.store
    if not store.can_access_folder(user, folder_id, READ):
        raise ApiError(-151, NO_FOLDER)
    folder = store.folder(folder_id)
    # The parent is returned without a permission check, as Midas does.
    folder['parent'] = store.folder(folder['parent_id']) if folder['parent_id'] > 0 else None
    return folder


@api_method('midas.folder.children')
def folder_children(call):
    """Get the immediate children of a folder.

    :param token: (Optional) Authentication token
    :param id: The id of the folder
    :returns: The items and folders in the given folder
    """
    folder_id = call.require('id')
    user = call.user
    # Midas crashes (PHP fatal error) on an unknown id; we answer -151 like folder.get.
    if call.store.folder(folder_id) is None:
        raise ApiError(-151, NO_FOLDER)
    folders, items = readable_children(call.store, user, folder_id)
    return {'folders': folders, 'items': items}


@api_method('midas.folder.delete')
def folder_delete(call):
    """Delete a folder. Requires admin privileges on the folder.

    :param token: Authentication token
    :param id: The id of the folder
    """
    folder_id = call.require('id')
    user = logged_in(call, -101, 'Unable to find user')
    if not call.store.can_access_folder(user, folder_id, ADMIN):
        raise ApiError(-151, "This folder doesn't exist  or you don't have the permissions.")
    call.store.delete_folder(folder_id)


@api_method('midas.folder.move')
def folder_move(call):
    """Give a folder a new parent folder.

    :param token: Authentication token
    :param id: The id of the folder
    :param dstfolderid: The id of destination folder (new parent folder) where the folder
        is moved to
    :returns: The folder object
    """
    folder_id = call.require('id')
    destination_id = call.require('dstfolderid')
    user = call.user
    store = call.store
    destination = store.folder(destination_id)
    if (user is None or not store.can_access_folder(user, folder_id, ADMIN)
            or (destination is not None
                and not store.can_access_folder(user, destination_id, WRITE))):
        raise ApiError(-151, NO_FOLDER)
    if destination is None:
        raise ApiError(0, 'Error in params when checking Folder Policy.')
    folder = store.folder(folder_id)
    if folder['parent_id'] < 0:  # a root folder: Midas crashes (§7.4 #30)
        raise FatalError('Call to a member function getParent() on null')
    with store.transaction():
        _check_move(store, folder, destination)
        if folder['parent_id'] != destination['folder_id']:
            store.move_folder(folder['folder_id'], destination['folder_id'])
    return store.folder(folder_id)


def _check_move(store, folder, destination):
    if folder['folder_id'] == destination['folder_id']:
        raise ApiError(0, 'Folder == Parent')
    if destination['folder_id'] in store.subtree_ids(folder['folder_id']):
        raise ApiError(0, 'Parent is a child of Folder')
    clash = _child_named(store, destination['folder_id'], folder['name'])
    if clash is not None and clash['folder_id'] != folder['folder_id']:
        raise ApiError(0, 'This name is already used')
