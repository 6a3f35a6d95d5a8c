"""Core API area ``community``: create, get, children, list, delete."""

from pydas.testing.folders import readable_children
from pydas.testing.policies import (check_privacy, create_or_update, logged_in,
                                    update_name_and_description)
from pydas.testing.registry import ApiError, api_method
from pydas.testing.storage import (ADMIN, ANONYMOUS_GROUP, COMMUNITY_ROOT, READ, WRITE,
                                   as_id, now, new_uuid)

CAN_JOIN = {'Everyone': 1, 'Invitation': 0}
NO_COMMUNITY = "This community doesn't exist or you don't have the permissions."
# Folder policies of a new community: (folder, group) -> level (§3.4).
FOLDER_POLICIES = {'root': {'admin': ADMIN, 'moderator': READ, 'member': READ},
                   'Private': {'admin': ADMIN, 'moderator': WRITE, 'member': READ},
                   'Public': {'admin': ADMIN, 'moderator': WRITE, 'member': READ}}


def check_can_join(value):
    """Fail with -150 unless ``value`` is ``Everyone`` or ``Invitation``."""
    if value not in CAN_JOIN:
        # Sic: Midas says "privacy" in this message.
        raise ApiError(-150, 'privacy should be one of [Everyone|Invitation]')


def create_community(store, creator, name, description='', privacy='Public',
                     can_join='Everyone', uuid=None):
    """Create a community with its folders, groups and policies (§3.4).

    :param creator: the user dict of the creator (Administrator and Members)
    :returns: the community dict as created (``view`` empty)
    """
    name = name[:1].upper() + name[1:]
    if store.value('SELECT 1 FROM community WHERE name = ?', name):
        raise ApiError(0, 'Community already exists.')
    if name == '':
        raise ApiError(0, 'Please set a name for the Community.')
    public = privacy == 'Public'
    with store.transaction():
        community_id = store.execute(
            'INSERT INTO community (name, description, creation, privacy, can_join, uuid) '
            'VALUES (?, ?, ?, ?, ?, ?)', name, description, now(), 0 if public else 1,
            CAN_JOIN[can_join] if public else 0, uuid or new_uuid())
        groups = {role: store.execute('INSERT INTO "group" (community_id, name) VALUES (?, ?)',
                                      community_id, label)
                  for role, label in (('admin', 'Administrator'), ('moderator', 'Moderators'),
                                      ('member', 'Members'))}
        for role in ('admin', 'member'):
            store.execute('INSERT INTO user2group (user_id, group_id) VALUES (?, ?)',
                          creator['user_id'], groups[role])
        root = store.insert_folder('community_%d' % community_id, COMMUNITY_ROOT)
        folders = {'root': root}
        for folder_name in ('Public', 'Private') if public else ('Private',):
            folders[folder_name] = store.insert_folder(folder_name, root)
        for key, folder_id in folders.items():
            for role, level in FOLDER_POLICIES[key].items():
                store.set_policy('folder', folder_id, 'group', groups[role], level)
        if public:
            store.set_policy('folder', folders['Public'], 'group', ANONYMOUS_GROUP, READ)
        store.execute('UPDATE community SET folder_id = ?, admingroup_id = ?, '
                      'moderatorgroup_id = ?, membergroup_id = ? WHERE community_id = ?',
                      root, groups['admin'], groups['moderator'], groups['member'],
                      community_id)
    return dict(store.community(community_id), view=None)


@api_method('midas.community.create')
def community_create(call):
    """Make a community (admins only), or edit the one whose uuid is given.

    :param token: Authentication token
    :param name: name of the community
    :param description: (Optional) free text shown with it
    :param uuid: (Optional) a uuid to address an existing community; a new one gets a
        fresh uuid when this is absent
    :param privacy: (Optional) 'Public' (the default) or 'Private'
    :param canjoin: (Optional) 'Everyone' (the default) or 'Invitation'
    :returns: the community as stored
    """
    name, user, existing = create_or_update(call, 'community', 'Unable to find user')
    store = call.store
    if existing:
        return _update_community(call, user, existing)
    if str(user['admin']) != '1':
        raise ApiError(-151, 'Only admins can create communities')
    privacy = call.param('privacy', 'Public')
    can_join = call.param('canjoin', 'Everyone')
    check_privacy(privacy)
    check_can_join(can_join)
    return create_community(store, user, name, call.param('description', ''), privacy,
                            can_join, call.param('uuid') or None)


def _update_community(call, user, community_id):
    store = call.store
    if not store.can_access_community(user, community_id, WRITE):
        raise ApiError(-151, 'Invalid policy')
    with store.transaction():
        update_name_and_description(call, 'community', community_id)
        for param, check, column, values in (
                ('privacy', check_privacy, 'privacy', {'Public': 0, 'Private': 1}),
                ('canjoin', check_can_join, 'can_join', CAN_JOIN)):
            if call.has(param):
                if not store.can_access_community(user, community_id, ADMIN):
                    raise ApiError(-151, 'Admin access required.')
                check(call.param(param))
                # Only the flag changes; folder policies stay as they are (as in Midas).
                store.execute('UPDATE community SET %s = ? WHERE community_id = ?' % column,
                              values[call.param(param)], community_id)
    return store.community(community_id)


@api_method('midas.community.get')
def community_get(call):
    """Get a community's information based on the id OR name.

    :param token: (Optional) Authentication token
    :param id: The id of the community
    :param name: the name of the community
    :returns: The community information
    """
    user = call.user
    store = call.store
    if call.has('id'):
        community = store.community(call.param('id'))
    elif call.has('name'):
        row = store.one('SELECT community_id FROM community WHERE name = ?', call.param('name'))
        community = row and store.community(row['community_id'])
    else:
        raise ApiError(-150, 'Parameter id or name is not defined')
    if not community or not store.can_access_community(user, community['community_id'], READ):
        raise ApiError(-151, NO_COMMUNITY)
    return community


@api_method('midas.community.children')
def community_children(call):
    """Get the immediate children of a community (non-recursive).

    :param token: (Optional) Authentication token
    :param id: The id of the community
    :returns: The folders in the community
    """
    community_id = call.require('id')
    user = call.user
    community = call.store.community(community_id)
    if community is None:
        raise ApiError(-150, 'Invalid community id')
    return {'folders': readable_children(call.store, user, community['folder_id'])[0]}


@api_method('midas.community.list')
def community_list(call):
    """Return a list of all communities visible to a user.

    :param token: (Optional) Authentication token
    :returns: A list of all communities
    """
    user = call.user
    store = call.store
    if user is not None and str(user['admin']) == '1':
        ids = [row['community_id'] for row in store.all('SELECT community_id FROM community')]
    else:
        # Midas picks at most 20 public communities (before sorting), plus memberships.
        ids = [row['community_id'] for row in store.all(
            'SELECT community_id FROM community WHERE privacy = 0 ORDER BY community_id '
            'LIMIT 20')]
        if user is not None:
            ids += [row['community_id'] for row in store.all(
                'SELECT community_id FROM community JOIN user2group '
                'ON user2group.group_id = community.membergroup_id WHERE user_id = ?',
                user['user_id'])]
    communities = [store.community(community_id) for community_id in dict.fromkeys(ids)]
    return sorted(communities, key=lambda community: community['name'].lower())


@api_method('midas.community.delete')
def community_delete(call):
    """Delete a community. Requires admin privileges on the community.

    :param token: Authentication token
    :param id: The id of the community
    """
    community_id = call.require('id')
    user = logged_in(call, -101, 'Unable to find user')
    store = call.store
    if not store.can_access_community(user, community_id, ADMIN):
        raise ApiError(-151, "This community doesn't exist  or you don't have the permissions.")
    community = store.community(community_id)
    with store.transaction():
        if store.folder(community['folder_id']) is not None:
            store.delete_folder(community['folder_id'])
        store.execute('DELETE FROM user2group WHERE group_id IN '
                      '(SELECT group_id FROM "group" WHERE community_id = ?)', as_id(community_id))
        store.execute('DELETE FROM "group" WHERE community_id = ?', as_id(community_id))
        store.execute('DELETE FROM community WHERE community_id = ?', as_id(community_id))
