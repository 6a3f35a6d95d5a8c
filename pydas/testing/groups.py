"""Core API: community groups and their members (API §3.3, §4.48).

Every method needs a logged-in caller with ADMIN on the group's community.
"""

from pydas.testing.policies import logged_in
from pydas.testing.registry import ApiError, api_method
from pydas.testing.storage import ADMIN, as_id

NOT_ADMIN = 'Community Admin permissions required.'


def _community_admin(call, community_id):
    if not call.store.can_access_community(call.user, community_id, ADMIN):
        raise ApiError(-151, NOT_ADMIN)


def _group(call, action):
    """The group row of ``group_id``, checking the caller administers its community."""
    group_id = call.require('group_id')
    logged_in(call, -151, 'You must be logged in to %s' % action)
    group = call.store.one('SELECT * FROM "group" WHERE group_id = ?', as_id(group_id))
    if group is None:
        raise ApiError(-150, 'This group does not exist')
    _community_admin(call, group['community_id'])
    return group


def _member(call):
    user_id = call.require('user_id')
    if call.store.user(user_id) is None:
        raise ApiError(-150, 'This user does not exist')
    return as_id(user_id)


def _community(call, action):
    community_id = call.require('community_id')
    logged_in(call, -151, 'You must be logged in to %s' % action)
    if call.store.community(community_id) is None:
        raise ApiError(-150, 'This community does not exist')
    _community_admin(call, community_id)
    return as_id(community_id)


def _group_and_member(call, action):
    """``(group_id, user_id)`` of a membership change, checked as Midas checks them."""
    call.require('group_id')
    call.require('user_id')
    group = _group(call, action)
    return group['group_id'], _member(call)


@api_method('midas.group.add.user')
def group_add_user(call):
    """Add a user to a group, requires admin privileges on the community of the group.

    :param group_id: the group to add the user to
    :param user_id: the user to add to the group
    :returns: success = true on success
    """
    group_id, user_id = _group_and_member(call, 'add a user to a group')
    call.store.execute('INSERT OR IGNORE INTO user2group (user_id, group_id) VALUES (?, ?)',
                       user_id, group_id)
    return {'success': 'true'}


@api_method('midas.group.remove.user')
def group_remove_user(call):
    """Remove a user from a group, requires admin privileges on the community of the group.

    :param group_id: the group to remove the user from
    :param user_id: the user to remove from the group
    :returns: success = true on success
    """
    group_id, user_id = _group_and_member(call, 'remove a user from a group')
    call.store.execute('DELETE FROM user2group WHERE user_id = ? AND group_id = ?', user_id,
                       group_id)
    return {'success': 'true'}


@api_method('midas.group.add')
def group_add(call):
    """Add a group associated with a community, requires admin privileges on the community.

    :param community_id: id of the community that gets the group
    :param name: the name of the new group
    :returns: group_id of the newly created group on success
    """
    call.require('community_id')
    name = call.require('name')
    community_id = _community(call, 'add a group')
    group_id = call.store.execute('INSERT INTO "group" (community_id, name) VALUES (?, ?)',
                                  community_id, name)
    return {'group_id': group_id}


@api_method('midas.group.remove')
def group_remove(call):
    """Remove a group associated with a community, requires admin privileges on the community.

    The group's memberships and its folder and item policies go with it. (Midas does not
    protect a community's Administrator, Moderators and Members groups; neither does this.)

    :param group_id: the id of the group to be removed
    :returns: success = true on success
    """
    group = _group(call, 'remove a group')
    store = call.store
    with store.transaction():
        for kind in ('folder', 'item'):
            for row in store.all('SELECT %s_id AS id FROM %spolicygroup WHERE group_id = ?'
                                 % (kind, kind), group['group_id']):
                store.remove_policy(kind, row['id'], 'group', group['group_id'])
        store.execute('DELETE FROM user2group WHERE group_id = ?', group['group_id'])
        store.execute('DELETE FROM "group" WHERE group_id = ?', group['group_id'])
    return {'success': 'true'}


@api_method('midas.group.list.users')
def group_list_users(call):
    """List the users of a group, requires admin privileges on the community of the group.

    :param group_id: id of group
    :returns: array users => a list of user ids mapped to their firstname and lastname
    """
    group = _group(call, 'list users in a group')
    rows = call.store.all('SELECT user_id, firstname, lastname FROM user JOIN user2group '
                          'USING (user_id) WHERE group_id = ? ORDER BY user_id',
                          group['group_id'])
    # PHP encodes an empty array as a list.
    return {'users': {row['user_id']: {'firstname': row['firstname'],
                                       'lastname': row['lastname']} for row in rows} or []}


@api_method('midas.community.list.groups')
def community_list_groups(call):
    """List the groups of a community, requires admin privileges on the community.

    :param community_id: id of community
    :returns: array groups => a list of group ids mapped to group names
    """
    community_id = _community(call, 'list groups in a community')
    rows = call.store.all('SELECT group_id, name FROM "group" WHERE community_id = ? '
                          'ORDER BY group_id', community_id)
    return {'groups': {row['group_id']: row['name'] for row in rows} or []}
