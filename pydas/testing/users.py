"""Core API area ``user``: login, API keys and tokens, user folders and user lookups.

Modules that change what ``midas.login`` returns (the ``mfa`` module) register a hook
with :func:`add_login_hook`: ``hook(call, user, token_row)`` returns the ``data`` to
answer instead of ``{"token": ...}``, or None to let the login proceed.
"""

from pydas.testing.registry import ApiError, api_method
from pydas.testing.storage import READ, as_id

_LOGIN_HOOKS = []


def add_login_hook(hook):
    """Register a ``hook(call, user, token_row)`` consulted by ``midas.login``."""
    if hook not in _LOGIN_HOOKS:
        _LOGIN_HOOKS.append(hook)


@api_method('midas.login')
def login(call):
    """Login as a user using a web api key.

    :param appname: The application name
    :param email: The user email
    :param apikey: The api key corresponding to the given application name
    :returns: A web api token that will be valid for a set duration
    """
    email = call.require('email')
    appname = call.require('appname')
    apikey = call.require('apikey')
    user = call.store.user_by_email(email)
    if user is None:
        raise ApiError(-150, 'Unable to authenticate. Please check credentials.')
    userapi = call.store.one('SELECT * FROM userapi WHERE user_id = ? AND application_name = ? '
                             'AND apikey = ?', user['user_id'], appname, apikey)
    if userapi is None:
        # Midas throws a bare exception here: code 0, empty message.
        raise ApiError(0, '')
    token = call.store.login_token(userapi)
    for hook in _LOGIN_HOOKS:
        answer = hook(call, user, token)
        if answer is not None:
            return answer
    return {'token': token['token']}


@api_method('midas.user.apikey.default')
def user_apikey_default(call):
    """Get a user's default API key by authenticating with email and password (POST).

    :param email: The user's email
    :param password: The user's password
    :returns: Array with a single key, 'apikey', whose value is the user's default api key
    """
    email = call.require('email')
    password = call.require('password')
    if call.verb != 'POST':
        raise ApiError(-153, 'POST method required')
    user = call.store.user_by_email(email)
    if user is None or not call.store.check_password(user['user_id'], password):
        raise ApiError(-150, 'Login failed')
    apikey = call.store.default_api_key(user['user_id'])
    if apikey is None:
        raise ApiError(-150, 'User has no default API key')
    return {'apikey': apikey}


@api_method('midas.user.folders')
def user_folders(call):
    """Return a list of top level folders belonging to the user.

    :param token: Authentication token
    :returns: List of the user's top level folders
    """
    user = call.user
    if user is None:
        return []
    return [folder for folder in call.store.child_folders(user['folder_id'])
            if call.store.can_access_folder(user, folder['folder_id'], READ)]


@api_method('midas.user.list')
def user_list(call):
    """Returns a portion or the entire set of public users based on the limit variable.

    :param limit: The maximum number of users to return
    :returns: the list of users
    """
    limit = as_id(call.require('limit'))
    users = [call.store.user(row['user_id']) for row in call.store.all(
        'SELECT user_id FROM user WHERE privacy = 0 ORDER BY lastname, user_id')]
    # 0 or a non-numeric limit means no limit.
    return users[:limit] if limit > 0 else users


@api_method('midas.user.get')
def user_get(call):
    """Returns a user by id, by email, or by first and last name.

    :param user_id: The id of the user desired (ignores firstname and lastname)
    :param email: The email of the user desired
    :param firstname: The first name of the desired user (use with lastname)
    :param lastname: The last name of the desired user (use with firstname)
    :returns: The user corresponding to the user_id or first and lastname
    """
    store = call.store
    if call.has('user_id') or call.has('id'):
        return store.user(call.param('user_id', call.param('id')))
    if call.has('email'):
        return store.user_by_email(call.param('email'))
    if call.has('firstname') and call.has('lastname'):
        row = store.one('SELECT user_id FROM user WHERE firstname = ? AND lastname = ? '
                        'ORDER BY user_id', call.param('firstname'), call.param('lastname'))
        return None if row is None else store.user(row['user_id'])
    raise ApiError(-150, 'Please provide a user email or both first and last name')
