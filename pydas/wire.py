"""How Python arguments become Midas web API parameters: the one table.

Driver methods pass their arguments under their Python names; :func:`encode`
renames them (:data:`RENAMES`, overridden per API method by
:data:`RENAMES_BY_METHOD`), drops ``None``, sends presence flags only when
true (:data:`PRESENCE_FLAGS`: Midas acts on their mere presence, so
``silent=False`` must not be sent at all), writes :data:`JSON_VALUES` as JSON
text and everything else as ``str(value)``. :data:`OPTIONS` lists the keyword
options each API method accepts and :data:`DEFAULTS` the values always sent.
"""

import json
import warnings


class UnknownOptionWarning(UserWarning):
    """A driver method was given a keyword option it does not take (and ignored it)."""


# Python name -> Midas name, for every API method unless RENAMES_BY_METHOD says otherwise.
RENAMES = {
    'api_key': 'apikey',
    'application': 'appname',
    'build_results_url': 'buildResultsUrl',
    'can_join': 'canjoin',
    'community_id': 'communityId',
    'config_item_id': 'configItemId',
    'dagmanoutfilename': 'outfilename',
    'dest_folder_id': 'dstfolderid',
    'extra_urls': 'extraUrls',
    'folder_name': 'folderName',
    'item_name': 'itemname',
    'metric_name': 'metricName',
    'one_time_pass': 'otp',
    'parent_id': 'parentid',
    'parent_keys': 'parentKeys',
    'producer_display_name': 'producerDisplayName',
    'producer_revision': 'producerRevision',
    'reproduction_command': 'reproductionCommand',
    'reuse_existing': 'reuseExisting',
    'scalar_id': 'scalarIds',
    'src_folder_id': 'srcfolderid',
    'submission_id': 'submissionId',
    'submission_uuid': 'submissionUuid',
    'submit_time': 'submitTime',
    'temp_token': 'mfaTokenId',
    'test_dataset_id': 'testDatasetId',
    'truth_dataset_id': 'truthDatasetId',
    'upload_token': 'uploadtoken',
}

_ITEM_ID = {'item_id': 'id'}
_FOLDER_ID = {'folder_id': 'id'}
_COMMUNITY_ID = {'community_id': 'id'}
_BITSTREAM_ID = {'bitstream_id': 'id'}
_ITEM_ID_CAMEL = {'item_id': 'itemId', 'bitstream_id': 'bitstreamId'}

# API method -> the renames that differ from RENAMES for that method.
RENAMES_BY_METHOD = {
    'midas.community.get': _COMMUNITY_ID,
    'midas.community.children': _COMMUNITY_ID,
    'midas.folder.get': _FOLDER_ID,
    'midas.folder.children': _FOLDER_ID,
    'midas.folder.delete': _FOLDER_ID,
    'midas.folder.move': _FOLDER_ID,
    'midas.item.get': _ITEM_ID,
    'midas.item.delete': _ITEM_ID,
    'midas.item.download': _ITEM_ID,
    'midas.item.getmetadata': _ITEM_ID,
    'midas.item.share': _ITEM_ID,
    'midas.item.move': _ITEM_ID,
    'midas.item.setmetadata': {'item_id': 'itemId'},
    'midas.item.searchbynameandfolder': {'folder_id': 'folderId'},
    'midas.link.create': {'folder_id': 'folderid'},
    'midas.upload.generatetoken': {'item_id': 'itemid', 'folder_id': 'folderid'},
    'midas.upload.perform': {'item_id': 'itemid', 'folder_id': 'folderid'},
    'midas.bitstream.get': _BITSTREAM_ID,
    'midas.bitstream.delete': _BITSTREAM_ID,
    'midas.bitstream.download': _BITSTREAM_ID,
    'midas.dicomextractor.extract': {'item_id': 'item'},
    'midas.thumbnailcreator.create.big.thumbnail': _ITEM_ID_CAMEL,
    'midas.thumbnailcreator.create.small.thumbnail': _ITEM_ID_CAMEL,
    'midas.tracker.item.associate': _ITEM_ID_CAMEL,
}

# Parameters Midas tests for presence only: sent as "True" when true, never when false.
PRESENCE_FLAGS = frozenset(['reuse_existing', 'silent', 'unofficial'])

# Parameters sent as JSON text (unless already given as a string).
JSON_VALUES = frozenset(['params', 'extra_urls'])

_TRACKER_OPTIONS = (
    'config_item_id', 'test_dataset_id', 'truth_dataset_id', 'silent', 'unofficial',
    'build_results_url', 'branch', 'params', 'extra_urls', 'submission_id',
    'submission_uuid', 'unit', 'reproduction_command',
)

# API method -> the keyword options its driver method accepts.
OPTIONS = {
    'midas.community.create': ('description', 'uuid', 'privacy', 'can_join'),
    'midas.folder.create': ('description', 'uuid', 'privacy', 'reuse_existing'),
    'midas.item.create': ('description', 'uuid', 'privacy'),
    'midas.link.create': ('item_name', 'length', 'checksum'),
    'midas.upload.perform': ('mode', 'folder_id', 'item_id', 'itemid', 'revision'),
    'midas.tracker.scalar.add': _TRACKER_OPTIONS,
    'midas.tracker.results.upload.json': _TRACKER_OPTIONS + ('parent_keys',),
    'midas.tracker.submission.add': (
        'community_id', 'producer_display_name', 'producer_revision', 'branch', 'submit_time',
        'uuid', 'name', 'build_results_url', 'params', 'extra_urls', 'reproduction_command',
    ),
}

# API method -> parameters always sent (the original client sends them too).
DEFAULTS = {
    'midas.folder.create': {'description': ''},
}


def known_options(api_method, options):
    """Return the keyword options ``api_method`` takes, warning about the others.

    The original pydas ignored an option it did not know; scripts written for it
    must keep running, so an unknown (e.g. misspelt) option is dropped as before,
    but with a :class:`UnknownOptionWarning` instead of silently.

    :param api_method: the Midas API method, e.g. ``'midas.folder.create'``
    :type api_method: string
    :param options: the keyword options given by the caller
    :type options: dict
    :returns: the options that ``api_method`` takes
    :rtype: dict
    """
    allowed = OPTIONS.get(api_method, ())
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        warnings.warn('ignoring unknown option(s) %s for %s; allowed: %s'
                      % (', '.join(unknown), api_method, ', '.join(sorted(allowed))),
                      UnknownOptionWarning, stacklevel=4)
    return {name: value for name, value in options.items() if name in allowed}


def encode_value(name, value):
    """Return the wire text of one parameter value.

    :param name: the Python name of the parameter
    :type name: string
    :param value: its value (not None)
    :rtype: string
    """
    if name in JSON_VALUES and not isinstance(value, str):
        return json.dumps(value)
    return str(value)


def encode(api_method, params):
    """Return the Midas parameters for the Python arguments of a call.

    :param api_method: the Midas API method, e.g. ``'midas.folder.create'``
    :type api_method: string
    :param params: Python name -> value; ``None`` means "not sent"
    :type params: dict
    :returns: Midas name -> text, ready for a form body or a query string
    :rtype: dict[string, string]
    :raises ValueError: if a value is not valid Unicode text (a lone surrogate, as in a
        name decoded from bytes that are not UTF-8), which cannot be sent
    """
    renames = RENAMES_BY_METHOD.get(api_method, {})
    values = dict(DEFAULTS.get(api_method, {}))
    values.update(params)
    wire = {}
    for name, value in values.items():
        if value is None or (name in PRESENCE_FLAGS and not value):
            continue
        text = encode_value(name, value)
        try:
            text.encode('utf-8')
        except UnicodeEncodeError:
            raise ValueError('{0}: {1} is not valid Unicode text (it holds a lone surrogate, '
                             'as names read from bytes that are not UTF-8 do)'.format(
                                 api_method, name)) from None
        wire[renames.get(name, RENAMES.get(name, name))] = text
    return wire
