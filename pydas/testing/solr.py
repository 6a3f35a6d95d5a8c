"""Midas module ``solr``: advanced Lucene search over items (API §4.46).

The index is the live database: each item is a document with the fields
``name``, ``description`` and, for each metadata value of its head revision,
``<element>.<qualifier>`` and ``<element>`` (lower case). Queries use the
Lucene subset of :mod:`pydas.testing.lucene`; results come in item id order
(Solr would rank them by relevance).

With the pseudo-module ``solr_offline`` (the recorded 3.4.2 profile, where no
Solr server was reachable) every search fails with -1 ``Syntax error in
query``, as recorded; so does a query outside the supported subset.
"""

from pydas.testing import lucene
from pydas.testing.registry import ApiError, api_method
from pydas.testing.storage import READ

MODULE = 'solr'
OFFLINE = 'solr_offline'
DEFAULT_LIMIT = 25
# Midas asks Solr for this many times ``limit`` documents, then drops unreadable items
FETCH_FACTOR = 5


def item_document(store, item):
    """The search document of an item: field name -> list of values."""
    document = {'name': [item['name'] or ''], 'description': [item['description'] or '']}
    revision = store.head_revision(item['item_id'])
    if revision is not None:
        for entry in store.metadata(revision['itemrevision_id']):
            element = (entry['element'] or '').lower()
            qualifier = (entry['qualifier'] or '').lower()
            value = entry['value'] or ''
            document.setdefault(element, []).append(value)
            if qualifier:
                document.setdefault('%s.%s' % (element, qualifier), []).append(value)
    return document


def search_result(store, item):
    """An item as ``midas.solr.search.advanced`` lists it (its own key names)."""
    revisions = store.revisions(item['item_id'])
    head = revisions[-1] if revisions else None
    result = {'id': item['item_id'], 'name': item['name'], 'description': item['description'],
              'size': item['sizebytes'], 'date_created': item['date_creation'],
              'date_updated': item['date_update'], 'uuid': item['uuid'],
              'views': item['view'], 'downloads': item['download'],
              'public': item['privacy_status'] == 0}
    folders = store.item_folders(item['item_id'])
    if folders:
        result['folder_id'] = folders[0]['folder_id']
    result['revisions'] = [str(revision['itemrevision_id']) for revision in revisions]
    result['bitstreams'] = ([str(b['bitstream_id'])
                             for b in store.bitstreams(head['itemrevision_id'])]
                            if head else [])
    return result


def _limit(call):
    try:
        return int(call.param('limit', DEFAULT_LIMIT))
    except ValueError:
        return DEFAULT_LIMIT


def search(store, user, query, limit):
    """The readable items matching a parsed query, as search results.

    :param user: the caller (None: anonymous)
    :param query: a parsed query
    :type query: pydas.testing.lucene.Query
    :rtype: list
    """
    wanted = FETCH_FACTOR * limit
    matches = []
    for row in store.all('SELECT item_id FROM item ORDER BY item_id'):
        if len(matches) >= wanted:
            break
        item = store.item(row['item_id'])
        if query.matches(item_document(store, item)):
            matches.append(item)
    readable = [item for item in matches if store.can_access_item(user, item['item_id'], READ)]
    return [search_result(store, item) for item in readable[:limit]]


@api_method('midas.solr.search.advanced', module=MODULE)
def search_advanced(call):
    """Answer the readable items that match a Lucene query, best first, up to ``limit``.

    (The recorded server's help text for this method wrongly describes thumbnail
    creation; ``methodhelp`` keeps it as recorded.)

    :param token: (Optional) Authentication token
    :param query: The Lucene search query
    :param limit: (Optional) The limit of the search; defaults to 25
    :returns: The list of items matching the search query
    """
    text = call.require('query')
    limit = _limit(call)
    user = call.user
    if OFFLINE in call.server.modules:
        raise ApiError(-1, 'Syntax error in query')
    try:
        query = lucene.parse(text)
    except lucene.QuerySyntaxError:
        raise ApiError(-1, 'Syntax error in query')
    if limit <= 0:
        return []
    return search(call.store, user, query, limit)
