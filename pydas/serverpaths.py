"""Resolve server paths such as ``/users/Ada_Lovelace/Public/scans`` to folders and items.

Two kinds of absolute paths name a resource on a Midas server:

* ``/users/<First>_<Last>/<folder>/.../<folder or item>``: starts at the
  user's home folder (whose children are ``Private``, ``Public``...);
* ``/communities/<Name>/<folder>/.../<folder or item>``: starts at the
  community's root folder.

An upload destination may also be the bare name of one of the logged-in
user's top folders (``Private``, ``Public``...).
"""

from pydas.exceptions import InvalidParameter, InvalidPolicy, ServerPathNotFound


class Resource(object):
    """A folder or an item found on the server.

    :ivar kind: ``'folder'`` or ``'item'``
    :ivar id: the folder or item id, as a string
    :ivar name: its name
    :ivar record: the folder or item as its parent folder listed it, or None when it was
        not found in a listing (a home or community root folder)
    """

    def __init__(self, kind, resource_id, name, record=None):
        self.kind = kind
        self.id = str(resource_id)
        self.name = name
        self.record = record

    def __repr__(self):
        return '<Resource {0} {1} {2!r}>'.format(self.kind, self.id, self.name)


def resolve(client, server_path):
    """Return the folder or item an absolute server path names.

    :param client: a logged-in client
    :type client: pydas.session.Client
    :param server_path: ``/users/<First>_<Last>/...`` or ``/communities/<Name>/...``
    :type server_path: string
    :rtype: Resource
    :raises ServerPathNotFound: if nothing readable has that path
    """
    parts = [part for part in server_path.split('/') if part]
    if not server_path.startswith('/') or len(parts) < 2:
        raise ServerPathNotFound(
            '{0!r} is not a server path (/users/<First>_<Last>/... or '
            '/communities/<Name>/...)'.format(server_path))
    if parts[0] == 'users':
        root = _user_home(client, parts[1], server_path)
    elif parts[0] == 'communities':
        root = _community_root(client, parts[1], server_path)
    else:
        raise ServerPathNotFound('{0!r}: a server path starts with /users/ or /communities/'
                                 .format(server_path))
    return _descend(client, root, parts[2:], server_path)


def resolve_relative(client, folder_id, relative_path):
    """Return the folder or item a path names below a folder.

    :param client: a logged-in client
    :type client: pydas.session.Client
    :param folder_id: id of the folder the path starts in (e.g. a user's home folder)
    :type folder_id: int | string
    :param relative_path: ``<folder>/.../<folder or item>``
    :type relative_path: string
    :rtype: Resource
    :raises ServerPathNotFound: if nothing readable has that path
    """
    names = [part for part in relative_path.split('/') if part]
    return _descend(client, Resource('folder', folder_id, ''), names, relative_path)


def resolve_destination(client, destination):
    """Return the id of the folder an upload destination names.

    :param client: a logged-in client
    :type client: pydas.session.Client
    :param destination: a top folder name of the user (``Private``, ``Public``...),
        an absolute server path of a folder, or a folder :class:`Resource` found already
    :type destination: string | Resource
    :rtype: string
    :raises ServerPathNotFound: if the destination is not a folder the user can see
    """
    if isinstance(destination, Resource) or destination.startswith('/'):
        resource = (destination if isinstance(destination, Resource)
                    else resolve(client, destination))
        if resource.kind != 'folder':
            raise ServerPathNotFound('{0!r} is an item, not a folder'.format(resource.name))
        return resource.id
    folders = client.with_token(client.communicator.list_user_folders)
    for folder in folders:
        if folder['name'] == destination:
            return str(folder['folder_id'])
    raise ServerPathNotFound('no top folder {0!r} (the user has: {1})'.format(
        destination, ', '.join(folder['name'] for folder in folders)))


def _user_home(client, full_name, server_path):
    """Return the home folder of the user ``<First>_<Last>``.

    Names may themselves hold ``_``: every split is tried, first name shortest first.
    """
    for position in [index for index, char in enumerate(full_name) if char == '_']:
        user = client.communicator.get_user_by_name(full_name[:position],
                                                    full_name[position + 1:])
        if user:
            return Resource('folder', user['folder_id'], full_name)
    raise ServerPathNotFound('{0!r}: no user {1!r}'.format(server_path, full_name))


def _community_root(client, name, server_path):
    try:
        community = client.with_token(
            lambda token: client.communicator.get_community_by_name(name, token=token))
    except (InvalidParameter, InvalidPolicy) as error:
        raise ServerPathNotFound('{0!r}: no community {1!r}'.format(server_path, name)) from error
    return Resource('folder', community['folder_id'], name)


def _descend(client, resource, names, server_path):
    """Follow ``names`` down from ``resource``; a folder wins over an item of the same name."""
    for index, name in enumerate(names):
        if resource.kind != 'folder':
            break
        children = client.with_token(
            lambda token, folder_id=resource.id: client.communicator.folder_children(
                token, folder_id))
        resource = _child_named(children, name, is_last=index == len(names) - 1)
        if resource is None:
            break
    else:
        return resource
    raise ServerPathNotFound('{0!r}: {1!r} not found'.format(server_path, name))


def _child_named(children, name, is_last):
    for folder in children.get('folders', []):
        if folder['name'] == name:
            return Resource('folder', folder['folder_id'], name, folder)
    if is_last:
        for item in children.get('items', []):
            if item['name'] == name:
                return Resource('item', item['item_id'], name, item)
    return None
