"""The Midas module methods of the embedded server, over raw HTTP (API §2.6, §4.37-4.47).

Each test talks to a real :class:`MidasServer` with ``requests`` and checks the
envelope against the recorded transcripts, then the server state (SQL rows,
assetstore files, decoded thumbnail pixels).
"""

import glob
import io
import json
import os
import pathlib
import subprocess
import sys
import time

import pytest
import requests
from PIL import Image
from pydicom.data import get_testdata_file

from pydas.testing import MidasServer, batchmake, dicom, otp, thumbnails

from imagefiles import dicom_bytes, gradient, image_bytes

TRANSCRIPTS = pathlib.Path(__file__).parent.parent / 'transcripts' / 'data'

# The default profile without the pre-2016 tracker: the tracker of Midas 3.4.2 as recorded.
TRACKER_3_4_2_MODULES = tuple(m for m in MidasServer.DEFAULT_MODULES if m != 'tracker_legacy')


class Api(object):
    """A minimal client of ``/api/json`` speaking raw HTTP."""

    def __init__(self, server):
        self.server = server
        self.url = server.url + '/api/json'
        self.token = self.login(server.admin_email, server.admin_api_key)['token']

    def raw(self, method, verb='POST', body=None, **params):
        query = {'method': method}
        if verb == 'PUT' or body is not None:
            query.update(params)
            return requests.request(verb, self.url, params=query, data=body, timeout=30)
        return requests.request(verb, self.url, params=query, data=params, timeout=30)

    def envelope(self, method, **params):
        response = self.raw(method, **params)
        assert response.status_code == 200
        return response.json()

    def ok(self, method, **params):
        answer = self.envelope(method, **params)
        assert answer['stat'] == 'ok', answer
        return answer['data']

    def fail(self, method, **params):
        answer = self.envelope(method, **params)
        assert answer['stat'] == 'fail', answer
        return answer['code'], answer['message']

    def login(self, email, api_key):
        return self.ok('midas.login', email=email, apikey=api_key, appname='Default')

    def private_folder(self, token=None):
        folders = self.ok('midas.user.folders', token=token or self.token)
        return next(f['folder_id'] for f in folders if f['name'] == 'Private')

    def upload(self, name, data, token=None, folder_id=None):
        """Create an item holding one file; return the item id."""
        token = token or self.token
        item = self.ok('midas.item.create', token=token, name=name,
                       parentid=folder_id or self.private_folder(token))
        upload_token = self.ok('midas.upload.generatetoken', token=token,
                               itemid=item['item_id'], filename=name)['token']
        self.ok('midas.upload.perform', verb='PUT', body=data, uploadtoken=upload_token,
                filename=name, length=str(len(data)), itemid=item['item_id'], revision='head')
        return item['item_id']


@pytest.fixture(scope='module')
def servers():
    started = {}
    yield started
    for server in started.values():
        server.stop()


def _api(servers, modules):
    if modules not in servers:
        servers[modules] = MidasServer(modules=modules).start()
    server = servers[modules]
    server.reset()
    return Api(server)


@pytest.fixture
def api(servers):
    """The default profile: every module, the 2019 tracker and its pre-2016 methods."""
    return _api(servers, MidasServer.DEFAULT_MODULES)


@pytest.fixture
def legacy_api(api):
    assert 'tracker_legacy' in api.server.modules
    return api


@pytest.fixture
def tracker_api(servers):
    """Every module, the tracker as 3.4.2 has it (no pre-2016 methods)."""
    return _api(servers, TRACKER_3_4_2_MODULES)


@pytest.fixture
def recorded_api(servers):
    """Midas 3.4.2 as recorded: no batchmake, no legacy tracker, Solr unreachable."""
    return _api(servers, MidasServer.RECORDED_MODULES)


def _gradient_png(width, height):
    return image_bytes(width, height)


# -- mfa -------------------------------------------------------------------------------

def test_mfa_login_trades_the_pending_id_and_a_totp_for_the_token(api):
    user = api.server.add_user('ada@example.org', 'pw', 'Ada', 'Lovelace', mfa=True)
    pending = api.login(user['email'], user['api_key'])
    assert list(pending) == ['mfa_token_id'] and len(pending['mfa_token_id']) < 10
    code = otp.totp(user['otp_secret'])
    token = api.ok('midas.mfa.otp.login', mfaTokenId=pending['mfa_token_id'], otp=code)['token']
    assert len(token) == 32
    assert api.server.query('SELECT token FROM token WHERE token = ?', token)
    assert api.server.query('SELECT * FROM mfa_apitoken') == []
    assert api.ok('midas.user.folders', token=token)
    # the pending record is gone after use (transcript 103)
    assert api.fail('midas.mfa.otp.login', mfaTokenId=pending['mfa_token_id'],
                    otp=code) == ('-1', 'Invalid MFA token id')


def test_mfa_wrong_otp_consumes_the_pending_login(api):
    user = api.server.add_user('ada@example.org', 'pw', mfa=True)
    pending = api.login(user['email'], user['api_key'])['mfa_token_id']
    wrong = '%06d' % ((int(otp.totp(user['otp_secret'])) + 500000) % 1000000)
    assert api.fail('midas.mfa.otp.login', mfaTokenId=pending, otp=wrong) == (
        '-1', 'Incorrect OTP')
    assert api.server.query('SELECT * FROM mfa_apitoken') == []
    assert api.fail('midas.mfa.otp.login', mfaTokenId=pending,
                    otp=otp.totp(user['otp_secret'])) == ('-1', 'Invalid MFA token id')


def test_mfa_accepts_one_step_of_clock_drift(api):
    user = api.server.add_user('ada@example.org', 'pw', mfa=True)
    pending = api.login(user['email'], user['api_key'])['mfa_token_id']
    # 25 s ago is the previous time step unless the current one is nearly over; either way
    # the code stays within one step of the server's clock during the call (no flakiness)
    previous = otp.totp(user['otp_secret'], at=time.time() - 25)
    assert api.ok('midas.mfa.otp.login', mfaTokenId=pending, otp=previous)['token']


def test_mfa_parameter_errors_and_expired_token(api):
    assert api.fail('midas.mfa.otp.login', mfaTokenId='4') == (
        '-1', 'Parameter otp must be set.')
    assert api.fail('midas.mfa.otp.login', otp='123456') == (
        '-1', 'Parameter mfaTokenId must be set.')
    user = api.server.add_user('ada@example.org', 'pw', mfa=True)
    pending = api.login(user['email'], user['api_key'])['mfa_token_id']
    api.server.expire_tokens()
    assert api.fail('midas.mfa.otp.login', mfaTokenId=pending,
                    otp=api.server.totp(user['email'])) == (
        '-1', 'Corresponding api token no longer exists')


def test_login_without_otp_device_answers_the_token(api):
    user = api.server.add_user('bob@example.org', 'pw')
    assert len(api.login(user['email'], user['api_key'])['token']) == 32


# -- tracker (2019 interface) -----------------------------------------------------------

SUBMISSION_UUID = '44efd721ec7149a58213333af360fda3'


def _submission(api, community_id, **extra):
    params = dict(token=api.token, communityId=community_id, producerDisplayName='Segmenter',
                  producerRevision='abc123', submitTime='2026-11-27 10:00:00',
                  uuid=SUBMISSION_UUID, branch='main', name='nightly')
    params.update(extra)
    return api.ok('midas.tracker.submission.add', **params)


def test_tracker_transcript_sequence(tracker_api):
    api = tracker_api
    community = api.server.add_community('Tracker Lab')
    scalar = dict(token=api.token, communityId=community['community_id'],
                  producerDisplayName='Segmenter', metricName='dice', producerRevision='abc123',
                  submitTime='2026-11-27 10:00:00', value='0.87')
    assert api.fail('midas.tracker.scalar.add', **scalar) == (
        '-1', 'Parameter submissionUuid must be set.')
    submission = _submission(api, community['community_id'])
    assert list(submission) == [
        '_id', '_type', 'submission_id', 'producer_id', 'name', 'uuid', 'submit_time',
        'user_id', 'official', 'build_results_url', 'extra_urls', 'branch', 'producer_revision',
        'document', 'reproduction_command']
    assert submission['_type'] == 'Tracker_Submission'
    assert (submission['name'], submission['uuid'], submission['submit_time'],
            submission['branch'], submission['producer_revision'], submission['user_id']) == (
        'nightly', SUBMISSION_UUID, '2026-11-27 10:00:00', 'main', 'abc123', '')
    scalar.update(value='0.91', submissionUuid=SUBMISSION_UUID, branch='main', silent='True',
                  unofficial='True', unit='%', params='{"gpu": "A100"}')
    first = api.ok('midas.tracker.scalar.add', **scalar)
    assert list(first) == ['scalar_id', 'trend_id', 'submission_id', 'submit_time', 'branch',
                           'official', 'value']
    assert first['submission_id'] == submission['submission_id']
    assert (first['submit_time'], first['branch'], first['official'], first['value']) == (
        '', '', '', '0.91')
    scalar.update(metricName='hausdorff', value='3.2')
    second = api.ok('midas.tracker.scalar.add', **scalar)
    assert second['trend_id'] != first['trend_id']
    assert second['submission_id'] == first['submission_id']
    trends = api.server.query('SELECT metric_name, unit FROM tracker_trend ORDER BY trend_id')
    assert trends == [{'metric_name': 'dice', 'unit': '%'},
                      {'metric_name': 'hausdorff', 'unit': '%'}]
    values = api.server.query('SELECT value FROM tracker_scalar ORDER BY scalar_id')
    assert [row['value'] for row in values] == [0.91, 3.2]
    assert len(api.server.query('SELECT * FROM tracker_producer')) == 1


def test_tracker_scalar_add_creates_the_submission_of_a_new_uuid(tracker_api):
    api = tracker_api
    community = api.server.add_community('Lab')
    answer = api.ok('midas.tracker.scalar.add', token=api.token,
                    communityId=community['community_id'], producerDisplayName='P',
                    metricName='accuracy', value='0.93', submissionUuid='abc123')
    rows = api.server.query('SELECT submission_id FROM tracker_submission WHERE uuid = ?',
                            'abc123')
    assert [str(row['submission_id']) for row in rows] == [answer['submission_id']]


def test_tracker_dataset_items_and_permissions(tracker_api):
    api = tracker_api
    owner = api.server.add_user('mod@example.org', 'pw')
    owner_token = api.login(owner['email'], owner['api_key'])['token']
    community = api.server.add_community('Lab', owner=owner['email'])
    base = dict(communityId=community['community_id'], producerDisplayName='P',
                metricName='m', value='1', submissionUuid='u1')
    api.ok('midas.tracker.scalar.add', token=owner_token, configItemName='config.json', **base)
    created = api.server.query(
        "SELECT folder.parent_id, folder.name FROM item JOIN item2folder USING (item_id) "
        "JOIN folder USING (folder_id) WHERE item.name = 'config.json'")
    assert created == [{'parent_id': community['folder_id'], 'name': 'Private'}]
    outsider = api.server.add_user('eve@example.org', 'pw')
    outsider_token = api.login(outsider['email'], outsider['api_key'])['token']
    assert api.fail('midas.tracker.scalar.add', token=outsider_token, **base) == (
        '403', 'Write permission required on community')
    unreadable = api.upload('secret.txt', b'x', token=outsider_token)
    assert api.fail('midas.tracker.scalar.add', token=owner_token, testDatasetId=unreadable,
                    **base) == ('403', 'Read permission required on test dataset item')
    assert api.fail('midas.tracker.scalar.add', token='bad', **base) == ('-101', 'Invalid token')
    assert api.fail('midas.tracker.scalar.add', token=owner_token,
                    **dict(base, metricName=' ')) == ('-1', 'Metric name must not be empty')


def test_tracker_submission_add_errors(tracker_api):
    api = tracker_api
    community = api.server.add_community('Lab')
    _submission(api, community['community_id'])
    assert api.fail('midas.tracker.submission.add', token=api.token,
                    communityId=community['community_id'], producerDisplayName='P',
                    producerRevision='r') == ('-150', 'Parameter branch is not defined')
    params = dict(token=api.token, communityId=community['community_id'],
                  producerDisplayName='P', producerRevision='r', branch='main')
    assert api.fail('midas.tracker.submission.add', **params) == (
        '-1', 'Invalid submitTime value: ')
    assert api.fail('midas.tracker.submission.add', submitTime='yesterday-ish', **params) == (
        '-1', 'Invalid submitTime value: yesterday-ish')
    assert api.fail('midas.tracker.submission.add', submitTime='2026-11-27',
                    uuid=SUBMISSION_UUID, **params) == ('-150', 'That uuid is already in use')
    created = api.ok('midas.tracker.submission.add', submitTime='2026-11-27T08:30:00',
                     params='{"gpu": "A100", "epochs": 10}', **params)
    assert len(created['uuid']) == 32 and created['submit_time'] == '2026-11-27 08:30:00'
    stored = api.server.query('SELECT param_name, text_value, numeric_value FROM tracker_param '
                              'WHERE submission_id = ? ORDER BY param_id',
                              int(created['submission_id']))
    assert stored == [{'param_name': 'gpu', 'text_value': 'A100', 'numeric_value': None},
                      {'param_name': 'epochs', 'text_value': '10', 'numeric_value': 10.0}]


def test_tracker_methods_pydas_uses_but_3_4_2_lacks(tracker_api):
    api = tracker_api
    assert api.fail('midas.tracker.submission.create', token=api.token, uuid='x', name='x') == (
        '-101', 'Server error. Requested method midas.tracker.submission.create does not exist.')
    response = api.raw('midas.tracker.results.upload.json', verb='PUT', body=b'{"m": 1}',
                       token=api.token, communityId='1', producerDisplayName='S',
                       producerRevision='abc')
    assert response.json() == {
        'code': '-101', 'data': '', 'stat': 'fail',
        'message': 'Server error. Requested method midas.tracker.results.upload.json '
                   'does not exist.'}


def test_tracker_item_associate(tracker_api):
    api = tracker_api
    community = api.server.add_community('Lab')
    _submission(api, community['community_id'])
    item_id = api.upload('result.nrrd', b'data')
    assert api.fail('midas.tracker.item.associate', token=api.token, itemId=item_id,
                    scalarIds='4', label='segmentation') == (
        '-1', 'Parameter submissionUuid must be set.')
    assert api.ok('midas.tracker.item.associate', token=api.token, itemId=item_id,
                  submissionUuid=SUBMISSION_UUID, label='segmentation') == ''
    links = api.server.query('SELECT item_id, label FROM tracker_submission2item')
    assert links == [{'item_id': int(item_id), 'label': 'segmentation'}]
    assert api.fail('midas.tracker.item.associate', token=api.token, itemId='999999',
                    submissionUuid=SUBMISSION_UUID, label='x') == ('404', 'Invalid itemId')
    assert api.fail('midas.tracker.item.associate', token=api.token, itemId=item_id,
                    submissionUuid='nope', label='x') == ('404', 'Invalid submission uuid: nope')


# -- tracker (pre-2016 interface, tracker_legacy) -----------------------------------------

def test_legacy_scalar_add_keeps_every_option(legacy_api):
    api = legacy_api
    community = api.server.add_community('Lab')
    answer = api.ok('midas.tracker.scalar.add', token=api.token,
                    communityId=community['community_id'], producerDisplayName='Segmenter',
                    metricName='dice', producerRevision='abc123',
                    submitTime='2026-11-27 10:00:00', value='0.91', branch='main',
                    silent='', unofficial='', buildResultsUrl='http://ci.example.org/1',
                    params='{"gpu": "A100"}', extraUrls='[{"label": "log"}]', unit='%',
                    reproductionCommand='make eval')
    assert list(answer) == ['scalar_id', 'trend_id', 'user_id', 'submission_id', 'official',
                            'build_results_url', 'extra_urls', 'branch', 'submit_time', 'value',
                            'producer_revision', 'reproduction_command']
    assert answer['official'] == '0' and answer['submission_id'] == '-1'
    assert (answer['branch'], answer['submit_time'], answer['producer_revision'],
            answer['build_results_url'], answer['reproduction_command'], answer['value']) == (
        'main', '2026-11-27 10:00:00', 'abc123', 'http://ci.example.org/1', 'make eval', '0.91')
    params = api.server.query('SELECT param_name, text_value FROM tracker_param '
                              'WHERE scalar_id = ?', int(answer['scalar_id']))
    assert params == [{'param_name': 'gpu', 'text_value': 'A100'}]
    old_style = dict(token=api.token, communityId=community['community_id'],
                     producerDisplayName='S', metricName='m', value='1', submitTime='now')
    assert api.fail('midas.tracker.scalar.add', **old_style) == (
        '-1', 'Parameter producerRevision must be set.')
    # a 2019-style call (no submitTime) still gets the 2019 answer
    del old_style['submitTime']
    modern = api.ok('midas.tracker.scalar.add', submissionUuid='u2', **old_style)
    assert list(modern) == ['scalar_id', 'trend_id', 'submission_id', 'submit_time', 'branch',
                            'official', 'value']


def test_legacy_results_upload_json_makes_one_scalar_per_number(legacy_api):
    api = legacy_api
    community = api.server.add_community('Lab')
    body = json.dumps({'dice': 0.87, 'hausdorff': '3.2', 'label': 'liver', 'ok': True,
                       'nested': {'recall': 0.5}}).encode('utf-8')
    params = dict(token=api.token, communityId=community['community_id'],
                  producerDisplayName='Segmenter', producerRevision='abc',
                  submitTime='2026-11-27 10:00:00')
    created = api.ok('midas.tracker.results.upload.json', verb='PUT', body=body, **params)
    assert [scalar['value'] for scalar in created] == ['0.87', '3.2']
    metrics = api.server.query('SELECT metric_name FROM tracker_trend ORDER BY trend_id')
    assert [row['metric_name'] for row in metrics] == ['dice', 'hausdorff']
    nested = api.ok('midas.tracker.results.upload.json', verb='PUT', body=body,
                    parentKeys='nested', **params)
    assert [scalar['value'] for scalar in nested] == ['0.5']
    bad = api.raw('midas.tracker.results.upload.json', verb='PUT', body=b'{not json', **params)
    assert bad.json()['message'] == 'Invalid JSON upload contents'
    missing = api.raw('midas.tracker.results.upload.json', verb='PUT', body=body,
                      parentKeys='nope.deeper', **params)
    assert missing.json()['message'] == ('Specified parent key "nope.deeper" does not exist '
                                         'or is not an array type')


def test_legacy_item_associate_with_scalar_ids(legacy_api):
    api = legacy_api
    community = api.server.add_community('Lab')
    scalar = api.ok('midas.tracker.scalar.add', token=api.token,
                    communityId=community['community_id'], producerDisplayName='S',
                    metricName='m', value='1', producerRevision='r', submitTime='now')
    item_id = api.upload('result.nrrd', b'data')
    assert api.ok('midas.tracker.item.associate', token=api.token, itemId=item_id,
                  scalarIds=scalar['scalar_id'], label='segmentation') == ''
    assert api.server.query('SELECT scalar_id, item_id, label FROM tracker_scalar2item') == [
        {'scalar_id': int(scalar['scalar_id']), 'item_id': int(item_id),
         'label': 'segmentation'}]
    assert api.fail('midas.tracker.item.associate', token=api.token, itemId=item_id,
                    scalarIds='12345', label='x') == ('404', 'Invalid scalarId: 12345')


# -- recorded 3.4.2 profile ---------------------------------------------------------------

def test_recorded_profile_removed_and_unreachable_modules(recorded_api):
    api = recorded_api
    assert api.fail('midas.batchmake.add.condor.dag', token=api.token, batchmaketaskid='1',
                    dagfilename='d.dag', outfilename='o.out') == (
        '-101', 'Server error. Requested method midas.batchmake.add.condor.dag does not exist.')
    assert api.fail('midas.solr.search.advanced', token=api.token, query='name:result*',
                    limit='5') == ('-1', 'Syntax error in query')
    response = api.raw('midas.tracker.results.upload.json', verb='PUT', body=b'{"m": 1}',
                       token=api.token, communityId='1', producerDisplayName='S',
                       producerRevision='abc')
    assert response.json()['code'] == '-101'


# -- thumbnailcreator -------------------------------------------------------------------

def _thumbnail_image(api, bitstream_id):
    rows = api.server.query('SELECT * FROM bitstream WHERE bitstream_id = ?', int(bitstream_id))
    assert rows and rows[0]['itemrevision_id'] == -1
    assert (rows[0]['name'], rows[0]['mimetype']) == ('thumbnail.jpeg', 'image/jpeg')
    image = Image.open(api.server.assetstore_file(rows[0]['checksum']))
    assert image.format == 'JPEG'
    return image.convert('RGB')


@pytest.mark.parametrize('format', ['PNG', 'JPEG', 'TIFF', 'GIF', 'BMP'])
def test_small_thumbnail_is_a_100x100_jpeg_set_on_the_item(api, format):
    item_id = api.upload('gradient.img', image_bytes(64, 48, format))
    item = api.ok('midas.thumbnailcreator.create.small.thumbnail', token=api.token,
                  itemId=item_id)
    assert list(item)[:8] == ['item_id', 'name', 'description', 'type', 'sizebytes',
                              'date_creation', 'date_update', 'thumbnail_id']
    assert item['thumbnail_id'] != ''
    image = _thumbnail_image(api, item['thumbnail_id'])
    assert image.size == (100, 100)
    # the gradient runs left to right in red and top to bottom in green
    assert image.getpixel((0, 50))[0] + 60 < image.getpixel((99, 50))[0]
    assert image.getpixel((50, 0))[1] + 60 < image.getpixel((50, 99))[1]
    again = api.ok('midas.thumbnailcreator.create.small.thumbnail', token=api.token,
                   id=item_id)
    assert again['thumbnail_id'] != item['thumbnail_id']
    assert api.server.query('SELECT * FROM bitstream WHERE bitstream_id = ?',
                            int(item['thumbnail_id'])) == []
    assert api.ok('midas.item.get', token=api.token, id=item_id)['thumbnail_id'] == (
        again['thumbnail_id'])


@pytest.mark.parametrize('mode', ['RGBA', 'I;16', 'P', 'L', 'CMYK'])
def test_thumbnails_of_images_in_other_modes(api, mode):
    source = gradient(40, 30).convert('RGBA' if mode == 'RGBA' else 'L')
    source = source.convert(mode) if mode != 'I;16' else source.convert('I').point(
        lambda value: value * 256).convert('I;16')
    buffer = io.BytesIO()
    source.save(buffer, 'TIFF' if mode in ('I;16', 'CMYK') else 'PNG')
    item_id = api.upload('mode.img', buffer.getvalue())
    item = api.ok('midas.thumbnailcreator.create.small.thumbnail', token=api.token,
                  itemId=item_id)
    assert _thumbnail_image(api, item['thumbnail_id']).size == (100, 100)


def test_big_thumbnail_keeps_the_aspect_ratio_and_replaces_the_previous_one(api):
    item_id = api.upload('gradient.png', _gradient_png(64, 48))
    bitstream_id = api.server.query('SELECT bitstream_id FROM bitstream JOIN itemrevision '
                                    'USING (itemrevision_id) WHERE item_id = ?',
                                    int(item_id))[0]['bitstream_id']
    first = api.ok('midas.thumbnailcreator.create.big.thumbnail', token=api.token,
                   itemId=item_id, bitstreamId=bitstream_id, width='32')
    assert list(first) == ['itemthumbnail_id', 'item_id', 'thumbnail_id']
    assert _thumbnail_image(api, first['thumbnail_id']).size == (32, 24)
    second = api.ok('midas.thumbnailcreator.create.big.thumbnail', token=api.token,
                    itemId=item_id, bitstreamId=bitstream_id)
    assert second['itemthumbnail_id'] == first['itemthumbnail_id']
    assert _thumbnail_image(api, second['thumbnail_id']).size == (575, 431)
    assert api.server.query('SELECT thumbnail_id FROM itemthumbnail') == [
        {'thumbnail_id': int(second['thumbnail_id'])}]
    assert api.server.query('SELECT * FROM bitstream WHERE bitstream_id = ?',
                            int(first['thumbnail_id'])) == []


def test_thumbnail_errors(api):
    text_item = api.upload('notes.txt', b'hello\n')
    assert api.fail('midas.thumbnailcreator.create.small.thumbnail', token=api.token,
                    itemId=text_item) == ('-100', 'Unsupported image format')
    truncated = api.upload('cut.png', _gradient_png(64, 48)[:100])
    assert api.fail('midas.thumbnailcreator.create.small.thumbnail', token=api.token,
                    itemId=truncated) == ('-100', 'Could not create thumbnail from the bitstream')
    assert api.fail('midas.thumbnailcreator.create.small.thumbnail', token=api.token) == (
        '-150', 'Parameter id is not defined')
    assert api.fail('midas.thumbnailcreator.create.small.thumbnail', token=api.token,
                    itemId='999999') == (
        '0', 'Error in parameter itemdao or policy when checking Item policy.')
    empty = api.ok('midas.item.create', token=api.token, name='empty',
                   parentid=api.private_folder())['item_id']
    assert api.fail('midas.thumbnailcreator.create.small.thumbnail', token=api.token,
                    itemId=empty) == (
        '-151', 'The head revision of the item does not contain any revisions')
    other = api.server.add_user('eve@example.org', 'pw')
    other_token = api.login(other['email'], other['api_key'])['token']
    assert api.fail('midas.thumbnailcreator.create.small.thumbnail', token=other_token,
                    itemId=text_item) == (
        '-151', "You didn't log in or you don't have the write permission for the given item.")
    assert api.server.query('SELECT * FROM bitstream WHERE itemrevision_id = -1') == []


def test_without_pillow_thumbnails_fail_as_without_imagemagick(api, monkeypatch):
    monkeypatch.setattr(thumbnails, 'Image', None)
    item_id = api.upload('gradient.png', _gradient_png(8, 8))
    assert api.fail('midas.thumbnailcreator.create.small.thumbnail', token=api.token,
                    itemId=item_id) == ('-100', 'Could not create thumbnail from the bitstream')


# -- dicomextractor ---------------------------------------------------------------------

def test_dicom_extract_stores_header_fields_as_metadata(api):
    data = dicom_bytes(ImageType='ORIGINAL\\PRIMARY\\AXIAL', Modality='CT',
                       Manufacturer='GE MEDICAL SYSTEMS', PatientName='CompressedSamples^CT1',
                       Rows=128, Columns=128)
    item_id = api.upload('CT_small.dcm', data)
    answer = api.ok('midas.dicomextractor.extract', token=api.token, item=item_id)
    revision = json.loads(answer)
    assert list(revision)[:4] == ['_model', '_key', 'saved', 'itemrevision_id']
    assert revision['item_id'] == item_id and revision['saved'] is True
    assert revision['license_id'] is None
    metadata = api.ok('midas.item.getmetadata', token=api.token, id=item_id)
    fields = [(m['element'], m['qualifier'], m['value']) for m in metadata]
    assert fields[0] == ('DICOM', 'FileMetaInformationGroupLength', fields[0][2])
    for expected in [('DICOM', 'Modality', 'CT'), ('DICOM', 'Rows', '128'),
                     ('DICOM', 'ImageType', 'ORIGINAL\\PRIMARY\\AXIAL'),
                     ('DICOM', 'PatientName', 'CompressedSamples^CT1'),
                     ('DICOM', 'TransferSyntaxUID', '1.2.840.10008.1.2.1')]:
        assert expected in fields
    stored = api.server.query('SELECT COUNT(*) AS n FROM metadatavalue WHERE itemrevision_id '
                              '= ?', int(revision['itemrevision_id']))
    assert stored == [{'n': len(fields)}]


def _recorded_ct_small_metadata():
    path = next(TRANSCRIPTS.glob('133_*.txt'))
    envelope = path.read_text(encoding='utf-8').rsplit('\n\n', 1)[1]
    return [(m['qualifier'], m['value']) for m in json.loads(envelope)['data']]


def test_dicom_extract_of_ct_small_is_as_recorded(api):
    with open(get_testdata_file('CT_small.dcm'), 'rb') as handle:
        item_id = api.upload('CT_small.dcm', handle.read())
    api.ok('midas.dicomextractor.extract', token=api.token, item=item_id)
    metadata = api.ok('midas.item.getmetadata', token=api.token, id=item_id)
    assert [(m['qualifier'], m['value']) for m in metadata] == _recorded_ct_small_metadata()


PYDICOM_FILES = sorted(os.path.basename(path) for path in glob.glob(
    os.path.join(os.path.dirname(get_testdata_file('CT_small.dcm')), '*.dcm')))


def test_dicom_extract_of_pydicoms_test_files_succeeds_or_fails_as_midas(api, capfd, caplog):
    """Compressed, big-endian, implicit VR, with sequences, private sequences, truncated,
    without meta header...: metadata, or Midas's page; never a crash of this server."""
    extracted = 0
    for name in PYDICOM_FILES:
        with open(get_testdata_file(name), 'rb') as handle:
            item_id = api.upload(name, handle.read())
        response = api.raw('midas.dicomextractor.extract', token=api.token, item=item_id)
        if response.status_code == 200:
            assert response.json()['stat'] == 'ok', name
            assert api.ok('midas.item.getmetadata', token=api.token, id=item_id), name
            extracted += 1
        else:
            assert response.status_code == 500, name
            assert dicom.NO_XML_MESSAGE in response.text, name
    assert extracted >= len(PYDICOM_FILES) - 8
    assert not [record for record in caplog.records if 'internal error' in record.message]
    assert capfd.readouterr().err == ''


def test_dicom_extract_of_a_non_dicom_item_is_a_fatal_error(api):
    item_id = api.upload('gradient.png', _gradient_png(8, 8))
    response = api.raw('midas.dicomextractor.extract', token=api.token, item=item_id)
    assert response.status_code == 500
    assert response.headers['Content-Type'].startswith('text/html')
    assert 'XMLReader::XML(): Argument #1 ($source) cannot be empty' in response.text
    assert api.server.query('SELECT * FROM metadatavalue') == []
    assert api.fail('midas.dicomextractor.extract', token=api.token) == (
        '-150', 'Parameter item is not defined')


def test_without_pydicom_extraction_fails_as_without_dcmtk(api, monkeypatch):
    monkeypatch.setattr(dicom, 'pydicom', None)
    with open(get_testdata_file('CT_small.dcm'), 'rb') as handle:
        item_id = api.upload('CT_small.dcm', handle.read())
    response = api.raw('midas.dicomextractor.extract', token=api.token, item=item_id)
    assert response.status_code == 500 and dicom.NO_XML_MESSAGE in response.text


# -- batchmake --------------------------------------------------------------------------

def test_batchmake_dag_and_job(api):
    user = api.server.add_user('bm@example.org', 'pw')
    token = api.login(user['email'], user['api_key'])['token']
    task_id = batchmake.create_task(api.server.store, user['user_id'])
    job = dict(batchmaketaskid=task_id, jobdefinitionfilename='j.def', outputfilename='j.out',
               errorfilename='j.err', logfilename='j.log', postfilename='j.post')
    assert api.fail('midas.batchmake.add.condor.job', token=token, **job) == (
        '-150', 'There is no condor dag for this batchmaketaskid')
    dag = api.ok('midas.batchmake.add.condor.dag', token=token, batchmaketaskid=task_id,
                 dagfilename='d.dag', outfilename='o.out')
    assert dag == {'condor_dag_id': dag['condor_dag_id'], 'batchmake_task_id': str(task_id),
                   'out_filename': 'o.out', 'dag_filename': 'd.dag'}
    created = api.ok('midas.batchmake.add.condor.job', token=token, **job)
    assert created['condor_dag_id'] == dag['condor_dag_id']
    assert api.server.query('SELECT jobdefinition_filename, post_filename FROM condor_job') == [
        {'jobdefinition_filename': 'j.def', 'post_filename': 'j.post'}]
    assert api.fail('midas.batchmake.add.condor.job', token=api.token, **job) == (
        '-151', 'You are not the owner of this batchmake task')
    assert api.fail('midas.batchmake.add.condor.dag', batchmaketaskid=task_id,
                    dagfilename='d', outfilename='o') == (
        '-151', 'Anonymous users may not add condor dags')
    assert api.fail('midas.batchmake.add.condor.dag', token=token, batchmaketaskid='999',
                    dagfilename='d', outfilename='o') == (
        '-150', 'Invalid batchmaketaskid specified')
    assert api.fail('midas.batchmake.add.condor.dag', token=token, batchmaketaskid=task_id,
                    dagfilename='d') == ('-1', 'Parameter outfilename must be set.')


# -- solr -------------------------------------------------------------------------------

def test_solr_advanced_search_matches_names_and_metadata(api):
    result_id = api.upload('result.nrrd', b'0123456789')
    other_id = api.upload('notes.txt', b'hello')
    api.ok('midas.item.setmetadata', token=api.token, itemId=other_id, element='DICOM',
           qualifier='Modality', value='CT')
    found = api.ok('midas.solr.search.advanced', token=api.token, query='name:result*')
    assert [hit['id'] for hit in found] == [result_id]
    hit = found[0]
    assert list(hit) == ['id', 'name', 'description', 'size', 'date_created', 'date_updated',
                         'uuid', 'views', 'downloads', 'public', 'folder_id', 'revisions',
                         'bitstreams']
    assert (hit['name'], hit['size'], hit['public']) == ('result.nrrd', '10', '')
    bitstreams = api.server.query('SELECT bitstream_id FROM bitstream')
    assert hit['bitstreams'] == [str(bitstreams[0]['bitstream_id'])]
    assert len(hit['revisions']) == 1
    by_metadata = api.ok('midas.solr.search.advanced', token=api.token,
                         query='dicom.modality:ct AND NOT name:result*')
    assert [hit['id'] for hit in by_metadata] == [other_id]
    both = api.ok('midas.solr.search.advanced', token=api.token, query='*:*', limit='1')
    assert len(both) == 1
    assert api.fail('midas.solr.search.advanced', token=api.token, query='name:(x') == (
        '-1', 'Syntax error in query')
    assert api.fail('midas.solr.search.advanced', token=api.token) == (
        '-150', 'Parameter query is not defined')


def test_solr_results_are_filtered_by_read_permission(api):
    owner = api.server.add_user('ada@example.org', 'pw')
    owner_token = api.login(owner['email'], owner['api_key'])['token']
    api.upload('scan-private.nrrd', b'p', token=owner_token)
    public_folder = next(f['folder_id'] for f in api.ok('midas.user.folders', token=owner_token)
                         if f['name'] == 'Public')
    public_id = api.upload('scan-public.nrrd', b'q', token=owner_token, folder_id=public_folder)
    anonymous = api.ok('midas.solr.search.advanced', query='scan*')
    assert [hit['id'] for hit in anonymous] == [public_id]
    assert anonymous[0]['public'] == '1'
    assert len(api.ok('midas.solr.search.advanced', token=api.token, query='scan*')) == 2


WITHOUT_EXTRAS = '''
import sys
sys.modules['PIL'] = sys.modules['pydicom'] = None  # as if the server extra were missing
import requests
from pydas.testing import MidasServer
with MidasServer() as server:
    url = server.url + '/api/json'
    token = requests.post(url, params={'method': 'midas.login', 'appname': 'Default',
                                       'email': server.admin_email,
                                       'apikey': server.admin_api_key}).json()['data']['token']
    upload = requests.post(url, params={'method': 'midas.upload.generatetoken', 'token': token,
                                        'folderid': '2', 'filename': 'x'}).json()['data']
    item = requests.put(url, data=b'data', params={
        'method': 'midas.upload.perform', 'uploadtoken': upload['token'], 'filename': 'x',
        'length': '4'}).json()['data']['item_id']
    small = requests.post(url, params={'method': 'midas.thumbnailcreator.create.small.'
                                       'thumbnail', 'token': token, 'itemId': item}).json()
    extract = requests.post(url, params={'method': 'midas.dicomextractor.extract',
                                         'token': token, 'item': item})
    print(small['code'], small['message'], extract.status_code, 'XMLReader' in extract.text)
'''


def test_the_server_runs_without_the_server_extra():
    done = subprocess.run([sys.executable, '-c', WITHOUT_EXTRAS], capture_output=True,
                          text=True, timeout=60)
    assert done.stdout == '-100 Could not create thumbnail from the bitstream 500 True\n', (
        done.stderr)
