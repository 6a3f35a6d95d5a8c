"""Core API: metadata field lists and the item metadata methods beyond get/set (§3.9, §4.48)."""

import json

from pydas.testing.items import metadata_revision
from pydas.testing.policies import is_number
from pydas.testing.registry import ApiError, api_method
from pydas.testing.storage import WRITE, as_id

#: MIDAS_METADATA_* type codes by the names the ``typename`` parameter uses.
TYPE_CODES = {'text': 0, 'int': 1, 'double': 2, 'float': 3, 'bool': 4, 'long': 5, 'string': 6}
TYPE_NAMES = {code: name for name, code in TYPE_CODES.items()}
NO_WRITE = "This item doesn't exist or you don't have write permission."


def _metadata_type(call):
    """The type of ``typename`` (preferred) or ``type``."""
    if call.has('typename'):
        name = call.param('typename')
        if name not in TYPE_CODES:
            raise ApiError(0, 'Invalid metadata type string passed')
        return TYPE_CODES[name]
    # Midas casts with (int): anything that is not a number means 0 (text).
    value = call.require('type')
    return int(value) if is_number(value) else 0


def _writable_item(call):
    item_id = call.require('itemid')
    if not call.store.can_access_item(call.user, item_id, WRITE):
        raise ApiError(-151, NO_WRITE)
    return as_id(item_id)


@api_method('midas.metadata.types.list')
def metadata_types_list(call):
    """Get the metadata types stored in the system."""
    rows = call.store.all('SELECT DISTINCT metadatatype FROM metadata ORDER BY metadatatype')
    return [TYPE_NAMES.get(row['metadatatype'], str(row['metadatatype'])) for row in rows]


@api_method('midas.metadata.elements.list')
def metadata_elements_list(call):
    """Get the metadata elements stored in the system for a given metadata type.

    :param type: the metadata type index
    :param typename: (optional) the metadata type name
    """
    rows = call.store.all('SELECT DISTINCT element FROM metadata WHERE metadatatype = ? '
                          'ORDER BY element', _metadata_type(call))
    return [row['element'] for row in rows]


@api_method('midas.metadata.qualifiers.list')
def metadata_qualifiers_list(call):
    """Get the metadata qualifiers stored in the system for a given metadata type and element.

    :param type: the metadata type index
    :param element: the metadata element under which the qualifier is collated
    :param typename: (optional) the metadata type name
    """
    element = call.require('element')
    rows = call.store.all('SELECT DISTINCT qualifier FROM metadata WHERE metadatatype = ? '
                          'AND element = ? ORDER BY qualifier', _metadata_type(call), element)
    return [row['qualifier'] for row in rows]


def _tuples(call):
    """The ``(element, value, qualifier, type)`` of ``element_<i>``... for i = 1..count."""
    count = call.param('count')
    if not is_number(count) or int(count) < 1:
        raise ApiError(-150, 'Count must be an integer greater than 0.')
    tuples = []
    for index in range(1, int(count) + 1):
        for field in ('element', 'value'):
            if not call.has('%s_%d' % (field, index)):
                raise ApiError(-150, 'Count was %d but param %s_%d is missing.'
                               % (index - 1, field, index))
        metadatatype = call.param('type_%d' % index, '0')
        # Midas 3.4.2 type-checks the qualifier instead and so fails on any type_<i>
        # (§7.5 #36); this server checks the type itself, with Midas's message.
        if not metadatatype.isdigit() or int(metadatatype) not in TYPE_NAMES:
            raise ApiError(-150, 'param type_%d must be an integer between 0 and 6.' % index)
        tuples.append((call.param('element_%d' % index), call.param('value_%d' % index),
                       call.param('qualifier_%d' % index, ''), int(metadatatype)))
    return tuples


@api_method('midas.item.setmultiplemetadata')
def item_setmultiplemetadata(call):
    """Set multiple metadata fields on an item, requires specifying the number of fields.

    :param token: Authentication token
    :param itemid: The id of the item
    :param revision: (Optional) Item Revision number to set metadata on, defaults to latest
    :param count: The number of metadata tuples that will be set
    :param element_i: metadata element for tuple i
    :param value_i: metadata value for the field, for tuple i
    :param qualifier_i: (Optional) metadata qualifier for tuple i
    :param type_i: (Optional) metadata type (integer constant), defaults to text (0)
    :returns: true on success
    """
    call.require('itemid')
    call.require('count')
    item_id = _writable_item(call)
    tuples = _tuples(call)
    store = call.store
    revision = metadata_revision(store, item_id, call.param('revision'))
    with store.transaction():
        for element, value, qualifier, metadatatype in tuples:
            store.set_metadata(revision['itemrevision_id'], element, value, qualifier,
                               metadatatype)
    return True


@api_method('midas.item.addmetadata')
def item_addmetadata(call):
    """Add metadata to an item from a JSON list of ``element``/``value`` objects.

    :param token: Authentication token
    :param itemid: The id of the item
    :param metadata: JSON list of objects with ``element``, ``value`` and optionally
        ``qualifier`` and ``type``
    :param revision: (Optional) revision number to write instead of the head
    :returns: the item object
    """
    call.require('itemid')
    call.require('metadata')
    item_id = _writable_item(call)
    store = call.store
    try:
        entries = json.loads(call.param('metadata'))
    except ValueError:
        entries = None
    # Midas reads a JSON request body that /api/json never parses, so a plain form value is
    # ignored there (§4.48); this server reads the value as that JSON list instead.
    if isinstance(entries, list):
        if not all(isinstance(entry, dict) and 'element' in entry and 'value' in entry
                   for entry in entries):
            raise ApiError(-150, "All metadata must have 'element' and 'value' keys.")
        revision = metadata_revision(store, item_id, call.param('revision'))
        with store.transaction():
            for entry in entries:
                metadatatype = entry.get('type', 0)
                store.set_metadata(revision['itemrevision_id'], str(entry['element']),
                                   str(entry['value']), str(entry.get('qualifier', '')),
                                   int(metadatatype) if is_number(str(metadatatype)) else 0)
    return store.item(item_id)


@api_method('midas.item.deletemetadata')
def item_deletemetadata(call):
    """Delete a metadata value from an item revision.

    :param token: Authentication token
    :param itemid: The id of the item
    :param element: The metadata element
    :param qualifier: (Optional) metadata qualifier; empty when absent
    :param type: (Optional) metadata type number; 0 (text) when absent
    :param revision: (Optional) revision number to change instead of the head
    :returns: true on success, false if the metadata field does not exist
    """
    call.require('itemid')
    element = call.require('element')
    item_id = _writable_item(call)
    store = call.store
    revision = metadata_revision(store, item_id, call.param('revision'))
    metadatatype = call.param('type', '0')
    metadata_id = store.value('SELECT metadata_id FROM metadata WHERE metadatatype = ? AND '
                              'element = ? AND qualifier = ?',
                              int(metadatatype) if is_number(metadatatype) else 0, element,
                              call.param('qualifier', ''))
    # "" only when the field is not defined; a defined field without a value here still
    # answers "1", as in Midas (§7.5 #38).
    if metadata_id is None:
        return False
    store.execute('DELETE FROM metadatavalue WHERE metadata_id = ? AND itemrevision_id = ?',
                  metadata_id, revision['itemrevision_id'])
    return True


@api_method('midas.item.deletemetadata.all')
def item_deletemetadata_all(call):
    """Delete all metadata of an item revision, or of every revision.

    :param token: Authentication token
    :param itemid: The id of the item
    :param revision: (Optional) Revision number, or ``all``. Defaults to latest revision
    :returns: true on success
    """
    item_id = _writable_item(call)
    store = call.store
    if call.param('revision') == 'all':
        revision_ids = [revision['itemrevision_id'] for revision in store.revisions(item_id)]
    else:
        revision_ids = [metadata_revision(store, item_id,
                                          call.param('revision'))['itemrevision_id']]
    with store.transaction():
        for revision_id in revision_ids:
            store.execute('DELETE FROM metadatavalue WHERE itemrevision_id = ?', revision_id)
    return True
