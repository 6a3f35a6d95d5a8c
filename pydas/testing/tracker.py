"""Midas module ``tracker``: producers, trends, submissions and scalar results (API §4.37-4.40).

Two interfaces exist. The 2019 one (Midas 3.4.2, always served) identifies a
submission by ``submissionUuid``: ``midas.tracker.scalar.add``,
``midas.tracker.submission.add`` and ``midas.tracker.item.associate``. The
pre-2016 one, which pydas targets, is served too when the pseudo-module
``tracker_legacy`` is enabled: a ``scalar.add`` call carrying ``submitTime``
then follows it (``producerRevision`` required; ``submissionId`` or
``submissionUuid`` optional; the per-scalar options ``branch``,
``buildResultsUrl``, ``extraUrls``, ``params``, ``reproductionCommand``,
``silent``, ``unofficial`` honoured) and answers the old scalar shape;
``item.associate`` accepts ``scalarIds``; ``results.upload.json`` exists.
Without ``tracker_legacy``, ``results.upload.json`` answers like an unknown
method, as recorded, and ``midas.methods.list`` leaves it out.
``midas.tracker.submission.create`` (pydas's name) never existed: it is not
registered, so it fails with -101 "does not exist".
"""

import datetime
import json
import re

from pydas.testing import storage
from pydas.testing.registry import ApiError, api_method
from pydas.testing.storage import ADMIN, READ, WRITE, as_id

storage.register_schema("""
CREATE TABLE IF NOT EXISTS tracker_producer (
    producer_id INTEGER PRIMARY KEY AUTOINCREMENT, community_id INTEGER, display_name TEXT,
    repository TEXT DEFAULT '', executable_name TEXT DEFAULT '', description TEXT DEFAULT '',
    revision_url TEXT DEFAULT '');
CREATE INDEX IF NOT EXISTS tracker_producer_name ON tracker_producer (community_id,
    display_name);
CREATE TABLE IF NOT EXISTS tracker_trend (
    trend_id INTEGER PRIMARY KEY AUTOINCREMENT, producer_id INTEGER, metric_name TEXT,
    display_name TEXT, unit TEXT, config_item_id INTEGER, test_dataset_id INTEGER,
    truth_dataset_id INTEGER);
CREATE INDEX IF NOT EXISTS tracker_trend_metric ON tracker_trend (producer_id, metric_name);
CREATE TABLE IF NOT EXISTS tracker_submission (
    submission_id INTEGER PRIMARY KEY AUTOINCREMENT, producer_id INTEGER, name TEXT,
    uuid TEXT UNIQUE, submit_time TEXT, user_id INTEGER, official INTEGER,
    build_results_url TEXT, extra_urls TEXT, branch TEXT, producer_revision TEXT,
    document TEXT, reproduction_command TEXT);
CREATE TABLE IF NOT EXISTS tracker_scalar (
    scalar_id INTEGER PRIMARY KEY AUTOINCREMENT, trend_id INTEGER, submission_id INTEGER,
    value REAL, user_id INTEGER, official INTEGER, build_results_url TEXT, extra_urls TEXT,
    branch TEXT, submit_time TEXT, producer_revision TEXT, reproduction_command TEXT);
CREATE TABLE IF NOT EXISTS tracker_param (
    param_id INTEGER PRIMARY KEY AUTOINCREMENT, submission_id INTEGER, scalar_id INTEGER,
    param_name TEXT, param_type TEXT, text_value TEXT, numeric_value REAL);
CREATE TABLE IF NOT EXISTS tracker_submission2item (
    submission_id INTEGER, item_id INTEGER, label TEXT, trendgroup_id INTEGER);
CREATE TABLE IF NOT EXISTS tracker_scalar2item (
    scalar_id INTEGER, item_id INTEGER, label TEXT);
""")

MODULE = 'tracker'
LEGACY = 'tracker_legacy'
# the JSON results file of results.upload.json is read whole: refuse absurd sizes
MAX_RESULTS_BYTES = 16 << 20
DATASET_KINDS = (('configItem', 'config_item_id', 'config item'),
                 ('testDataset', 'test_dataset_id', 'test dataset item'),
                 ('truthDataset', 'truth_dataset_id', 'truth dataset item'))
SUBMISSION_FIELDS = ('submission_id', 'producer_id', 'name', 'uuid', 'submit_time', 'user_id',
                     'official', 'build_results_url', 'extra_urls', 'branch',
                     'producer_revision', 'document', 'reproduction_command')
LEGACY_SCALAR_FIELDS = ('scalar_id', 'trend_id', 'user_id', 'submission_id', 'official',
                        'build_results_url', 'extra_urls', 'branch', 'submit_time', 'value',
                        'producer_revision', 'reproduction_command')
_SUBMIT_TIME_FORMATS = ('%Y-%m-%d %H:%M:%S', '%Y-%m-%dT%H:%M:%S', '%Y-%m-%d %H:%M',
                        '%Y-%m-%dT%H:%M', '%Y-%m-%d', '%Y/%m/%d %H:%M:%S', '%Y/%m/%d',
                        '%m/%d/%Y %H:%M:%S', '%m/%d/%Y')


def legacy(call):
    """Whether the pre-2016 tracker interface is served."""
    return LEGACY in call.server.modules


# -- parameter helpers ----------------------------------------------------------

def parse_submit_time(text):
    """A ``submitTime`` as Midas stores it, or None when it cannot be parsed.

    PHP's ``strtotime`` accepts far more; these are the forms scripts send
    (ISO dates with optional time and fraction, ``now``, ``@<unix time>``).
    """
    text = (text or '').strip()
    if text.lower() == 'now':
        return storage.now()
    if re.fullmatch(r'@\d+', text):
        return datetime.datetime.fromtimestamp(int(text[1:])).strftime('%Y-%m-%d %H:%M:%S')
    text = re.sub(r'\.\d+$', '', text)
    for form in _SUBMIT_TIME_FORMATS:
        try:
            return datetime.datetime.strptime(text, form).strftime('%Y-%m-%d %H:%M:%S')
        except ValueError:
            continue
    return None


def _submit_time(call, required=True):
    value = call.param('submitTime')
    if value is None and not required:
        return storage.now()
    parsed = parse_submit_time(value)
    if parsed is None:
        raise ApiError(-1, 'Invalid submitTime value: %s' % (value or ''))
    return parsed


def _php_float(text):
    """``(float)`` of PHP: the leading number of the text, 0 when there is none."""
    match = re.match(r'\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?', text or '')
    return float(match.group(0)) if match else 0.0


def _json_param(call, name):
    """A JSON parameter decoded, or None when absent or invalid (PHP json_decode)."""
    try:
        return json.loads(call.param(name, ''))
    except ValueError:
        return None


def _require_all(call, names):
    return [call.require(name, module=True) for name in names]


# -- model ------------------------------------------------------------------------

def _community(call, level):
    """The community of ``communityId`` if the caller holds ``level`` on it (403 otherwise)."""
    community_id = call.param('communityId')
    if not call.store.can_access_community(call.user, community_id, level):
        raise ApiError(403, 'Write permission required on community')
    return call.store.community(community_id)


def _nonempty(value, what):
    value = value.strip()
    if not value:
        raise ApiError(-1, '%s must not be empty' % what)
    return value


def producer_id(store, community_id, display_name):
    """The id of the producer of a community with this display name, created if needed."""
    with store.transaction():
        found = store.value('SELECT producer_id FROM tracker_producer WHERE community_id = ? '
                            'AND display_name = ?', as_id(community_id), display_name)
        if found is not None:
            return found
        return store.execute('INSERT INTO tracker_producer (community_id, display_name) '
                             'VALUES (?, ?)', as_id(community_id), display_name)


def trend_id(store, producer, metric_name, datasets, unit):
    """The id of the trend of a producer for a metric and datasets, created if needed."""
    keys = [datasets.get(column) for _, column, _ in DATASET_KINDS]
    with store.transaction():
        found = store.value('SELECT trend_id FROM tracker_trend WHERE producer_id = ? AND '
                            'metric_name = ? AND config_item_id IS ? AND test_dataset_id IS ? '
                            'AND truth_dataset_id IS ?', producer, metric_name, *keys)
        if found is not None:
            return found
        return store.execute('INSERT INTO tracker_trend (producer_id, metric_name, '
                             'display_name, unit, config_item_id, test_dataset_id, '
                             'truth_dataset_id) VALUES (?, ?, ?, ?, ?, ?, ?)', producer,
                             metric_name, metric_name, unit, *keys)


def _community_private_folder(store, community):
    return store.value("SELECT folder_id FROM folder WHERE parent_id = ? AND name = 'Private'",
                       community['folder_id'])


def _dataset_item(call, community, prefix, label):
    """The item id named by ``<prefix>Id`` or ``<prefix>Name``, or None if neither is set."""
    item_id = call.param(prefix + 'Id')
    name = call.param(prefix + 'Name')
    if item_id is None and name is not None:
        item_id = call.store.value('SELECT item_id FROM item WHERE name = ? '
                                   'ORDER BY item_id LIMIT 1', name)
        if item_id is None:
            folder = _community_private_folder(call.store, community)
            if folder is None:
                raise ApiError(-1, 'No private folder in the given community in which to '
                                   'create an item')
            return call.store.create_item(call.user, name, folder)
    if item_id is None:
        return None
    if not call.store.can_access_item(call.user, item_id, READ):
        raise ApiError(403, 'Read permission required on %s' % label)
    return as_id(item_id)


def _datasets(call, community):
    return {column: _dataset_item(call, community, prefix, label)
            for prefix, column, label in DATASET_KINDS}


def _submission_by_uuid(store, uuid):
    return store.one('SELECT * FROM tracker_submission WHERE uuid = ?', uuid)


def _submission_for_uuid(store, producer, uuid):
    """The submission with this uuid, created (for the producer) if needed."""
    with store.transaction():
        found = _submission_by_uuid(store, uuid)
        if found is not None:
            return found['submission_id']
        return store.execute('INSERT INTO tracker_submission (producer_id, name, uuid, '
                             'submit_time) VALUES (?, ?, ?, ?)', producer, '', uuid,
                             storage.now())


def _store_params(store, params, submission_id=None, scalar_id=None):
    """Store a JSON object of parameters (numbers are also kept as numeric values)."""
    if not isinstance(params, dict):
        return
    for name, value in params.items():
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        store.execute('INSERT INTO tracker_param (submission_id, scalar_id, param_name, '
                      'param_type, text_value, numeric_value) VALUES (?, ?, ?, ?, ?, ?)',
                      submission_id, scalar_id, str(name), 'numeric' if numeric else 'text',
                      str(value), float(value) if numeric else None)


# -- midas.tracker.item.associate ---------------------------------------------------------

def _readable_item(call, item_id):
    user = call.user
    if call.store.item(item_id) is None:
        raise ApiError(404, 'Invalid itemId')
    if not call.store.can_access_item(user, item_id, READ):
        raise ApiError(403, 'Read permission on the item required')
    return as_id(item_id)


def _producer_community(store, producer):
    return store.value('SELECT community_id FROM tracker_producer WHERE producer_id = ?',
                       producer)


def _legacy_associate(call):
    scalar_ids, item_id, label = _require_all(call, ('scalarIds', 'itemId', 'label'))
    item_id = _readable_item(call, item_id)
    scalars = []
    for scalar_id in scalar_ids.split(','):
        scalar = call.store.one('SELECT tracker_trend.producer_id FROM tracker_scalar JOIN '
                                'tracker_trend USING (trend_id) WHERE scalar_id = ?',
                                as_id(scalar_id))
        if scalar is None:
            raise ApiError(404, 'Invalid scalarId: %s' % scalar_id)
        community = _producer_community(call.store, scalar['producer_id'])
        if not call.store.can_access_community(call.user, community, ADMIN):
            raise ApiError(403, 'Admin permission on the community required')
        scalars.append(as_id(scalar_id))
    with call.store.transaction():
        for scalar_id in scalars:
            call.store.execute('INSERT INTO tracker_scalar2item (scalar_id, item_id, label) '
                               'VALUES (?, ?, ?)', scalar_id, item_id, label)


@api_method('midas.tracker.item.associate', module=MODULE)
def item_associate(call):
    """throws Exception

    (Server help text, as ``midas.methods.list`` shows it; the method answers
    nothing.) Associate a result item with a submission; with
    ``tracker_legacy``, ``scalarIds`` (comma-separated scalar ids) may be
    given instead of ``submissionUuid``, as pre-2016 servers required.

    :param submissionUuid: the uuid of the submission to associate the item with
    :param itemId: id of the item to attach to the submission
    :param label: Free text saying what the item is to the submission
    :param testDatasetId: (Optional) the id for the test dataset
    :param truthDatasetId: (Optional) the id of the truth dataset
    :param configItemId: (Optional) the id of the config dataset
    """
    if legacy(call) and call.has('scalarIds'):
        return _legacy_associate(call)
    uuid, item_id, label = _require_all(call, ('submissionUuid', 'itemId', 'label'))
    item_id = _readable_item(call, item_id)
    submission = _submission_by_uuid(call.store, uuid)
    if submission is None:
        raise ApiError(404, 'Invalid submission uuid: %s' % uuid)
    community = _producer_community(call.store, submission['producer_id'])
    if not call.store.can_access_community(call.user, community, WRITE):
        raise ApiError(403, 'Write permission on the community required')
    # the trend group (config/test/truth ids) only matters to the web pages: not modelled
    call.store.execute('INSERT INTO tracker_submission2item (submission_id, item_id, label) '
                       'VALUES (?, ?, ?)', submission['submission_id'], item_id, label)
    return None


# -- midas.tracker.scalar.add -----------------------------------------------------------

@api_method('midas.tracker.scalar.add', module=MODULE)
def scalar_add(call):
    """throws Exception

    (The first paragraph is the server's own help, as ``midas.methods.list``
    shows it.) Add one value to a trend of a producer. With ``tracker_legacy``,
    a call with ``submitTime`` uses the pre-2016 interface (see the module
    docstring).

    :param communityId: id of the producer's community
    :param producerDisplayName: name the producer is shown under
    :param metricName: name of the trend the value belongs to
    :param value: The value of the scalar
    :param submissionUuid: the uuid of the submission. If a submission does not exist with
        the specified uuid, onewill be created
    :param configItemId: (Optional) id of the configuration item the value was measured with
    :param testDatasetId: (Optional) id of the test data item the value was measured on
    :param truthDatasetId: (Optional) id of the ground truth item the value was compared to
    :param unit: (Optional) unit of the value; part of what selects the trend
    :returns: The scalar DAO that was created
    """
    # submitTime is no 2019 parameter: a caller sending it speaks the old interface
    if legacy(call) and call.has('submitTime'):
        return _legacy_scalar_add(call)
    _require_all(call, ('communityId', 'metricName', 'producerDisplayName', 'submissionUuid',
                        'value'))
    community = _community(call, WRITE)
    display_name = _nonempty(call.param('producerDisplayName'), 'Producer display name')
    metric_name = _nonempty(call.param('metricName'), 'Metric name')
    datasets = _datasets(call, community)
    store = call.store
    with store.transaction():
        producer = producer_id(store, community['community_id'], display_name)
        trend = trend_id(store, producer, metric_name, datasets, call.param('unit'))
        submission = _submission_for_uuid(store, producer, call.param('submissionUuid'))
        value = _php_float(call.param('value'))
        scalar = store.execute('INSERT INTO tracker_scalar (trend_id, submission_id, value) '
                               'VALUES (?, ?, ?)', trend, submission, value)
    # the 2019 scalar keeps its old submit_time/branch/official properties, always null
    return {'scalar_id': scalar, 'trend_id': trend, 'submission_id': submission,
            'submit_time': None, 'branch': None, 'official': None, 'value': value}


def _legacy_submission(call, producer):
    """The submission of a pre-2016 scalar: by id, by uuid (created), or none (-1)."""
    if call.param('submissionId') is not None:
        found = call.store.one('SELECT submission_id FROM tracker_submission '
                               'WHERE submission_id = ?', as_id(call.param('submissionId')))
        if found is None:
            raise ApiError(404, 'Invalid submissionId')
        return found['submission_id']
    if call.param('submissionUuid') is not None:
        return _submission_for_uuid(call.store, producer, call.param('submissionUuid'))
    return -1


def _legacy_scalar(call, community, metric_name, value, submit_time):
    """Insert one pre-2016 scalar with the call's options; return it (old shape)."""
    store = call.store
    display_name = _nonempty(call.param('producerDisplayName'), 'Producer display name')
    datasets = _datasets(call, community)
    user = call.user
    with store.transaction():
        producer = producer_id(store, community['community_id'], display_name)
        trend = trend_id(store, producer, metric_name, datasets, call.param('unit'))
        submission = _legacy_submission(call, producer)
        # 'silent' only turns off e-mail notifications, which this server does not send
        scalar_id = store.execute(
            'INSERT INTO tracker_scalar (trend_id, submission_id, value, user_id, official, '
            'build_results_url, extra_urls, branch, submit_time, producer_revision, '
            'reproduction_command) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', trend, submission,
            value, user['user_id'] if user else -1, 0 if call.has('unofficial') else 1,
            call.param('buildResultsUrl', ''), call.param('extraUrls', ''),
            call.param('branch', ''), submit_time, call.param('producerRevision'),
            call.param('reproductionCommand', ''))
        _store_params(store, _json_param(call, 'params'), scalar_id=scalar_id)
        row = store.one('SELECT * FROM tracker_scalar WHERE scalar_id = ?', scalar_id)
    return {field: row[field] for field in LEGACY_SCALAR_FIELDS}


def _legacy_community(call):
    # an unofficial submission only needs READ on the community
    level = READ if call.has('unofficial') else WRITE
    return _community(call, level)


def _legacy_scalar_add(call):
    _require_all(call, ('communityId', 'producerDisplayName', 'metricName', 'value',
                        'producerRevision', 'submitTime'))
    submit_time = _submit_time(call)
    community = _legacy_community(call)
    metric_name = _nonempty(call.param('metricName'), 'Metric name')
    return _legacy_scalar(call, community, metric_name, _php_float(call.param('value')),
                          submit_time)


# -- midas.tracker.submission.add ---------------------------------------------------------

@api_method('midas.tracker.submission.add', module=MODULE)
def submission_add(call):
    """throws Exception

    (Server help text, as ``midas.methods.list`` shows it.) Create a submission.

    :param communityId: The community attached to the producer
    :param producerDisplayName: Displayed name of the producer
    :param producerRevision: source revision the producer was built from
    :param branch: The branch name within the source repository
    :param uuid: (Optional) A unique identifier for the submission. If none is passed, one
        will be generated
    :param name: (Optional) A name for the submission
    :param submitTime: (Optional) The submit timestamp. Must be parseable with PHP strtotime()
    :param buildResultsUrl: (Optional) The URL where build results can be viewed
    :param params: (Optional) JSON object of arbitrary key/value pairs to display
    :param extraUrls: (Optional) JSON list of additional links
    :param reproductionCommand: (Optional) If passed, the command to produce this scalar
    :returns: The submission DAO that was created
    """
    for name in ('communityId', 'producerDisplayName', 'producerRevision', 'branch'):
        call.require(name)
    community = _community(call, WRITE)
    if call.user is None:
        raise ApiError(-151, 'Only authenticated users can create submissions.')
    display_name = _nonempty(call.param('producerDisplayName'), 'Producer display name')
    branch = _nonempty(call.param('branch'), 'Branch')
    submit_time = _submit_time(call)
    uuid = call.param('uuid') or storage.new_uuid()
    store = call.store
    with store.transaction():
        if _submission_by_uuid(store, uuid) is not None:
            raise ApiError(-150, 'That uuid is already in use')
        producer = producer_id(store, community['community_id'], display_name)
        submission_id = store.execute(
            'INSERT INTO tracker_submission (producer_id, name, uuid, submit_time, '
            'build_results_url, extra_urls, branch, producer_revision, reproduction_command) '
            'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)', producer, call.param('name', ''), uuid,
            submit_time, call.param('buildResultsUrl', ''), call.param('extraUrls', ''), branch,
            call.param('producerRevision'), call.param('reproductionCommand', ''))
        _store_params(store, _json_param(call, 'params'), submission_id=submission_id)
        row = store.one('SELECT * FROM tracker_submission WHERE submission_id = ?',
                        submission_id)
    # the REST-style component answers its model's fields plus _id and _type; like the
    # recorded server, user_id, official and document stay unset (empty)
    submission = {'_id': submission_id, '_type': 'Tracker_Submission'}
    submission.update((field, row[field]) for field in SUBMISSION_FIELDS)
    return submission


# -- midas.tracker.results.upload.json ----------------------------------------------------

def _read_results(call):
    body = call.body
    chunks, size = [], 0
    while body is not None:
        chunk = body.read(1 << 20)
        if not chunk:
            break
        size += len(chunk)
        if size > MAX_RESULTS_BYTES:
            raise ApiError(-1, 'Invalid JSON upload contents')
        chunks.append(chunk)
    try:
        results = json.loads(b''.join(chunks).decode('utf-8'))
    except ValueError:
        raise ApiError(-1, 'Invalid JSON upload contents')
    if not isinstance(results, dict):
        raise ApiError(-1, 'Invalid JSON upload contents')
    return results


def _result_groups(results, parent_keys):
    """The objects whose numeric values become scalars (top level, or each parent key)."""
    if not parent_keys:
        return [results]
    groups = []
    for key in parent_keys.split(';'):
        node = results
        for part in key.split('.'):
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            raise ApiError(-1, 'Specified parent key "%s" does not exist or is not an array '
                               'type' % key)
        groups.append(node)
    return groups


def _numeric(value):
    """The float of a JSON value PHP's ``is_numeric`` accepts, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and re.fullmatch(r'\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?',
                                               value):
        return float(value)
    return None


@api_method('midas.tracker.results.upload.json', module=MODULE, requires=LEGACY)
def results_upload_json(call):
    """Upload a JSON results file (PUT body); each numeric value becomes a scalar.

    Only served with ``tracker_legacy`` (removed from Midas in March 2016).

    :param communityId: id of the producer's community
    :param producerDisplayName: name the producer is shown under
    :param producerRevision: source revision the producer was built from
    :param submitTime: (Optional) the submit time, default now
    :param parentKeys: (Optional) ``;``-separated dotted paths of the objects to read
    :returns: the list of created scalars
    """
    _require_all(call, ('communityId', 'producerDisplayName', 'producerRevision'))
    submit_time = _submit_time(call, required=False)
    results = _read_results(call)
    groups = _result_groups(results, call.param('parentKeys'))
    community = _legacy_community(call)
    created = []
    with call.store.transaction():
        for group in groups:
            for name, raw in group.items():
                value = _numeric(raw)
                if value is not None:
                    created.append(_legacy_scalar(call, community, name, value, submit_time))
    return created
