"""Shared checks and steps of the API areas: privacy values, caller checks, id parsing,
the create-or-update preamble of the ``*.create`` methods."""

from pydas.testing.registry import ApiError
from pydas.testing.storage import ADMIN, WRITE

PRIVACY_VALUES = ('Public', 'Private')
PRIVACY_MESSAGE = 'privacy should be one of [Public|Private]'


def check_privacy(value):
    """Fail with -150 unless ``value`` is exactly ``Public`` or ``Private``."""
    if value not in PRIVACY_VALUES:
        raise ApiError(-150, PRIVACY_MESSAGE)


def logged_in(call, code, message):
    """The caller, or ``ApiError(code, message)`` for an anonymous caller."""
    user = call.user
    if user is None:
        raise ApiError(code, message)
    return user


def is_number(value):
    """Whether a parameter value is a (possibly negative) integer."""
    return value is not None and value.lstrip('-').isdigit()


def create_or_update(call, table, anonymous_message):
    """The preamble of ``community``/``folder``/``item.create``: ``(name, user, existing)``.

    :param table: ``'community'``, ``'folder'`` or ``'item'``
    :param anonymous_message: the -151 message for an anonymous caller
    :returns: the required ``name``, the caller, and the id of the row whose uuid is the
        ``uuid`` parameter (the method updates that row instead), or None
    """
    name = call.require('name')
    user = logged_in(call, -151, anonymous_message)
    uuid = call.param('uuid')
    # Only a row of this table counts: the uuid of another kind of object makes a new
    # object with that same uuid, as in Midas (§7.4 #24).
    existing = uuid and call.store.value('SELECT %s_id FROM %s WHERE uuid = ?'
                                         % (table, table), uuid)
    return name, user, existing or None


def update_name_and_description(call, table, resource_id):
    """Set the ``name`` and ``description`` columns present in the call's parameters."""
    for field in ('name', 'description'):
        if call.has(field):
            call.store.execute('UPDATE %s SET %s = ? WHERE %s_id = ?' % (table, field, table),
                               call.param(field), resource_id)


def update_folder_or_item(call, user, kind, resource_id):
    """The update half of ``folder``/``item.create``: WRITE access, then name,
    description and (with ADMIN access) privacy. Call it inside a transaction.

    :param kind: ``'folder'`` or ``'item'``
    """
    store = call.store
    can_access = store.can_access_folder if kind == 'folder' else store.can_access_item
    if not can_access(user, resource_id, WRITE):
        raise ApiError(-151, 'Invalid policy')
    update_name_and_description(call, kind, resource_id)
    privacy = call.param('privacy')
    if privacy is not None:
        if not can_access(user, resource_id, ADMIN):
            raise ApiError(-151, '%s Admin privileges required to set privacy'
                           % kind.capitalize())
        check_privacy(privacy)
        store.set_privacy(kind, resource_id, privacy)
