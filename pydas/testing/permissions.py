"""Core API: user and group policies and privacy of folders and items (API §3.10, §4.48)."""

from pydas.testing.policies import check_privacy
from pydas.testing.registry import ApiError, api_method
from pydas.testing.storage import ADMIN, ANONYMOUS_GROUP, PUBLIC, READ, WRITE, as_id

POLICY_CODES = {'Admin': ADMIN, 'Write': WRITE, 'Read': READ}
POLICY_NAMES = {code: name for name, code in POLICY_CODES.items()}
# Midas installs the anonymous group as a group row of its own; the store keeps it implicit.
ANONYMOUS_GROUP_NAME = 'Anonymous'
KEYS = {'folder': 'folder_id', 'item': 'item_id'}


def policy_code(value):
    """The level of a policy string, or -150 unless it is exactly Admin, Write or Read."""
    if value not in POLICY_CODES:
        raise ApiError(-150, 'policy should be one of [Admin|Write|Read]')
    return POLICY_CODES[value]


def group_name(store, group_id):
    """The name of a group, or None if it does not exist (the anonymous group exists)."""
    if as_id(group_id) == ANONYMOUS_GROUP:
        return ANONYMOUS_GROUP_NAME
    return store.value('SELECT name FROM "group" WHERE group_id = ?', as_id(group_id))


def _resource(call, kind, message):
    """The id of the folder/item named by ``<kind>_id``, checking the caller is its ADMIN."""
    resource_id = call.require(KEYS[kind])
    user = call.user
    store = call.store
    exists = store.folder(resource_id) if kind == 'folder' else store.item(resource_id)
    if exists is None:
        raise ApiError(-150, "This %s doesn't exist." % kind)
    level = (store.folder_level if kind == 'folder' else store.item_level)(user, resource_id)
    if level is None or level < ADMIN:
        raise ApiError(-151, message)
    return as_id(resource_id), user


def _group(call):
    group_id = call.require('group_id')
    if group_name(call.store, group_id) is None:
        raise ApiError(-150, "This group doesn't exist.")
    return as_id(group_id)


def _user(call):
    user_id = call.require('user_id')
    if call.store.user(user_id) is None:
        raise ApiError(-150, "This user doesn't exist.")
    return as_id(user_id)


def list_permissions(store, kind, resource_id):
    """``{"privacy", "user": [...], "group": [...]}`` of a folder or item."""
    key = KEYS[kind]
    privacy = store.value('SELECT privacy_status FROM %s WHERE %s = ?' % (kind, key),
                          resource_id)
    users = [{'user_id': row['user_id'], 'policy': POLICY_NAMES[row['policy']],
              'email': row['email']} for row in store.all(
        'SELECT policy.user_id, policy, email FROM %spolicyuser AS policy JOIN user USING '
        '(user_id) WHERE policy.%s = ? ORDER BY policy.rowid' % (kind, key), resource_id)]
    groups = [{'group_id': row['group_id'], 'policy': POLICY_NAMES[row['policy']],
               'name': group_name(store, row['group_id'])} for row in store.all(
        'SELECT group_id, policy FROM %spolicygroup WHERE %s = ? ORDER BY rowid'
        % (kind, key), resource_id)]
    return {'privacy': 'Public' if privacy == PUBLIC else 'Private', 'user': users,
            'group': groups}


def push_policies(store, user, folder_id):
    """Give every descendant folder and item the policies of a folder (replacing theirs)
    where ``user`` is ADMIN.

    :returns: ``(changed, refused)`` counts
    """
    changed = refused = 0
    folder_ids = store.subtree_ids(folder_id)
    item_ids = {row['item_id'] for row in store.all(
        'SELECT item_id FROM item2folder WHERE folder_id IN (%s)'
        % ','.join('?' * len(folder_ids)), *folder_ids)}
    targets = [('folder', child) for child in folder_ids[1:]]
    targets += [('item', item_id) for item_id in sorted(item_ids)]
    for kind, target in targets:
        level = (store.folder_level if kind == 'folder' else store.item_level)(user, target)
        if level is None or level < ADMIN:
            refused += 1
            continue
        for who in ('user', 'group'):
            store.execute('DELETE FROM %spolicy%s WHERE %s = ?' % (kind, who, KEYS[kind]),
                          target)
        store.copy_folder_policies(folder_id, kind, target)
        if store.value('SELECT 1 FROM folderpolicygroup WHERE folder_id = ? AND group_id = ?',
                       as_id(folder_id), ANONYMOUS_GROUP) is None:
            # No anonymous policy was copied: the cached privacy flag must follow too.
            store.remove_policy(kind, target, 'group', ANONYMOUS_GROUP)
        changed += 1
    return changed, refused


def _folder_result(call, user, folder_id):
    """``{"success", "failure"}``: the folder itself, then its subtree when ``recursive``."""
    success, failure = 1, 0
    if call.has('recursive'):
        changed, refused = push_policies(call.store, user, folder_id)
        success, failure = success + changed, failure + refused
    return {'success': success, 'failure': failure}


def _change_policy(call, kind, who, add):
    """Add (``add``) or remove the policy of a user or group on a folder or an item.

    :param kind: ``'folder'`` or ``'item'``
    :param who: ``'user'`` or ``'group'``
    :returns: folders: ``{"success", "failure"}`` counts (see :func:`_folder_result`);
        items: ``{"success": "true"}``
    """
    for name in (KEYS[kind], who + '_id') + (('policy',) if add else ()):
        call.require(name)
    resource_id, user = _resource(call, kind, 'Admin privileges required on the %s.' % kind)
    target_id = (_group if who == 'group' else _user)(call)
    store = call.store
    with store.transaction():
        if add:
            store.set_policy(kind, resource_id, who, target_id,
                             policy_code(call.param('policy')))
        else:
            store.remove_policy(kind, resource_id, who, target_id)
        if kind == 'item':
            return {'success': 'true'}
        return _folder_result(call, user, resource_id)


@api_method('midas.folder.list.permissions')
def folder_list_permissions(call):
    """List the permissions on a folder, requires Admin access to the folder.

    :param folder_id: The id of the folder
    :returns: privacy, user and group policies
    """
    folder_id, _ = _resource(call, 'folder',
                             'Admin privileges required on the folder to list permissions.')
    return list_permissions(call.store, 'folder', folder_id)


@api_method('midas.folder.set.privacy.recursive')
def folder_set_privacy_recursive(call):
    """Set the privacy status on a folder, and push this value down recursively to all
    children folders and items, requires Admin access to the folder.

    :param folder_id: The id of the folder
    :param privacy: Desired privacy status, one of [Public|Private]
    :returns: counts of resources that succeeded or failed the change
    """
    call.require('folder_id')
    privacy = call.require('privacy')
    folder_id, user = _resource(call, 'folder',
                                'Admin privileges required on the folder to set privacy.')
    check_privacy(privacy)
    store = call.store
    with store.transaction():
        store.set_privacy('folder', folder_id, privacy)
        changed, refused = push_policies(store, user, folder_id)
    return {'success': 1 + changed, 'failure': refused}


@api_method('midas.folder.add.policygroup')
def folder_add_policygroup(call):
    """Add a group policy to a folder, replacing the group's existing one.

    :param folder_id: The id of the folder
    :param group_id: The id of the group
    :param policy: Desired policy status, one of [Admin|Write|Read]
    :param recursive: If included will push all policies from the passed in folder down to
        its child folders and items, default is non-recursive
    :returns: counts of resources affected by the addition
    """
    return _change_policy(call, 'folder', 'group', add=True)


@api_method('midas.folder.remove.policygroup')
def folder_remove_policygroup(call):
    """Remove a group policy from a folder if it exists.

    :param folder_id: The id of the folder
    :param group_id: The id of the group
    :param recursive: If included will push all policies after the removal from the passed
        in folder down to its child folders and items, default is non-recursive
    :returns: counts of resources affected by the removal
    """
    return _change_policy(call, 'folder', 'group', add=False)


@api_method('midas.folder.add.policyuser')
def folder_add_policyuser(call):
    """Add a user policy to a folder, replacing the user's existing one.

    :param folder_id: The id of the folder
    :param user_id: The id of the targeted user to create the policy for
    :param policy: Desired policy status, one of [Admin|Write|Read]
    :param recursive: If included will push all policies from the passed in folder down to
        its child folders and items, default is non-recursive
    :returns: counts of resources affected by the addition
    """
    return _change_policy(call, 'folder', 'user', add=True)


@api_method('midas.folder.remove.policyuser')
def folder_remove_policyuser(call):
    """Remove a user policy from a folder if it exists.

    :param folder_id: The id of the folder
    :param user_id: The id of the target user
    :param recursive: If included will push all policies after the removal from the passed
        in folder down to its child folders and items, default is non-recursive
    :returns: counts of resources affected by the removal
    """
    return _change_policy(call, 'folder', 'user', add=False)


@api_method('midas.item.list.permissions')
def item_list_permissions(call):
    """List the permissions on an item, requires Admin access to the item.

    :param item_id: The id of the item
    :returns: privacy, user and group policies
    """
    item_id, _ = _resource(call, 'item',
                           'Admin privileges required on the item to list permissions.')
    return list_permissions(call.store, 'item', item_id)


@api_method('midas.item.add.policygroup')
def item_add_policygroup(call):
    """Add a group policy to an item, replacing the group's existing one.

    :param item_id: The id of the item
    :param group_id: The id of the group
    :param policy: Desired policy status, one of [Admin|Write|Read]
    :returns: success = true on success
    """
    return _change_policy(call, 'item', 'group', add=True)


@api_method('midas.item.remove.policygroup')
def item_remove_policygroup(call):
    """Remove a group policy from an item if it exists.

    :param item_id: The id of the item
    :param group_id: The id of the group
    :returns: success = true on success
    """
    return _change_policy(call, 'item', 'group', add=False)


@api_method('midas.item.add.policyuser')
def item_add_policyuser(call):
    """Add a user policy to an item, replacing the user's existing one.

    :param item_id: The id of the item
    :param user_id: The id of the targeted user to create the policy for
    :param policy: Desired policy status, one of [Admin|Write|Read]
    :returns: success = true on success
    """
    return _change_policy(call, 'item', 'user', add=True)


@api_method('midas.item.remove.policyuser')
def item_remove_policyuser(call):
    """Remove a user policy from an item if it exists.

    :param item_id: The id of the item
    :param user_id: The id of the target user
    :returns: success = true on success
    """
    return _change_policy(call, 'item', 'user', add=False)
