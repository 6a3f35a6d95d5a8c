"""The module drivers: batchmake, dicomextractor, mfa, solr, thumbnailcreator, tracker."""

import io
import json

import pytest

from pydas import exceptions
from pydas.core import Communicator
from pydas.testing import MidasServer
from pydas.testing.batchmake import create_task

from imagefiles import dicom_bytes, image_bytes

from .helpers import last_call, sent


@pytest.fixture(scope='module')
def _server_342():
    modules = tuple(m for m in MidasServer.DEFAULT_MODULES if m != 'tracker_legacy')
    with MidasServer(modules=modules) as server:
        yield server


@pytest.fixture
def midas_342(_server_342):
    """A server with only the 3.4.2 tracker interface, a communicator and an admin token."""
    _server_342.reset()
    with Communicator(_server_342.url) as comm:
        token = comm.login_with_api_key(_server_342.admin_email, _server_342.admin_api_key)
        yield _server_342, comm, token


@pytest.fixture
def legacy(server, comm, token):
    """The default server, which also serves the pre-2016 tracker interface."""
    return server, comm, token


def private_id(comm, token):
    return [f for f in comm.list_user_folders(token) if f['name'] == 'Private'][0]['folder_id']


def item_with_file(comm, token, name, content):
    item_id = comm.create_item(token, name, private_id(comm, token))['item_id']
    upload_token = comm.generate_upload_token(token, item_id, name)
    item = comm.perform_upload(upload_token, name, filepath=io.BytesIO(content))
    return item_id, item


def png_bytes(width=64, height=48):
    return image_bytes(width, height)


def test_batchmake(server, comm, token):
    admin_id = comm.get_user_by_email(server.admin_email)['user_id']
    task = create_task(server.store, int(admin_id))
    dag = comm.add_condor_dag(token, task, 'd.dag', 'o.out')
    assert (dag['batchmake_task_id'], dag['dag_filename']) == (str(task), 'd.dag')
    assert sent(server, 'midas.batchmake.add.condor.dag') == {
        'batchmaketaskid': str(task), 'dagfilename': 'd.dag', 'outfilename': 'o.out',
        'token': token}
    job = comm.add_condor_job(token, task, 'j', 'o', 'e', 'l', 'p')
    assert (job['condor_dag_id'], job['post_filename']) == (dag['condor_dag_id'], 'p')
    assert sent(server, 'midas.batchmake.add.condor.job') == {
        'batchmaketaskid': str(task), 'errorfilename': 'e', 'jobdefinitionfilename': 'j',
        'logfilename': 'l', 'outputfilename': 'o', 'postfilename': 'p', 'token': token}
    assert server.query('SELECT out_filename FROM condor_dag')[0]['out_filename'] == 'o.out'


def test_batchmake_unknown_task_and_other_owner(server, comm, token, ada):
    with pytest.raises(exceptions.InvalidParameter):
        comm.add_condor_dag(token, 999, 'd.dag', 'o.out')
    task = create_task(server.store, int(ada['user_id']))
    with pytest.raises(exceptions.InvalidPolicy):
        comm.add_condor_job(token, task, 'j', 'o', 'e', 'l', 'p')


def test_batchmake_removed_in_recorded_profile():
    with MidasServer(modules=MidasServer.RECORDED_MODULES) as server:
        with Communicator(server.url) as comm:
            token = comm.login_with_api_key(server.admin_email, server.admin_api_key)
            with pytest.raises(exceptions.InvalidToken, match='does not exist'):
                comm.add_condor_dag(token, 1, 'd.dag', 'o.out')
            with pytest.raises(exceptions.ResponseError) as exc_info:
                comm.solr_advanced_search('name:x', token)
            assert exc_info.value.code == -1


def test_dicom_extraction(server, comm, token):
    dicom = dicom_bytes(PatientName='Doe^Jane', Modality='CT')
    item_id, _ = item_with_file(comm, token, 'scan.dcm', dicom)
    revision = comm.extract_dicommetadata(token, item_id)
    assert isinstance(revision, dict) and revision['item_id'] == item_id
    assert sent(server, 'midas.dicomextractor.extract') == {'item': item_id, 'token': token}
    metadata = comm.get_item_metadata(item_id, token)
    assert ('PatientName', 'Doe^Jane') in [(m['qualifier'], m['value']) for m in metadata]


def test_dicom_extraction_without_permission(comm, token, ada):
    item_id, _ = item_with_file(comm, token, 'scan.dcm', dicom_bytes())
    with pytest.raises(exceptions.ResponseError):
        comm.extract_dicommetadata(ada['token'], item_id)


def test_mfa_login(server, comm):
    user = server.add_user('mfa@example.org', 'pw-mfa-123', 'M', 'Fa', mfa=True)
    temp = comm.login_with_api_key(user['email'], user['api_key'])
    assert len(temp) < 10  # the temporary MFA id, not a token
    token = comm.mfa_otp_login(temp, server.totp(user['email']))
    assert len(token) == 32
    assert sent(server, 'midas.mfa.otp.login') == {
        'mfaTokenId': temp, 'otp': server.totp(user['email'])}
    assert comm.list_user_folders(token)
    temp = comm.login_with_api_key(user['email'], user['api_key'])
    with pytest.raises(exceptions.ResponseError) as exc_info:
        comm.mfa_otp_login(temp, '000000' if server.totp(user['email']) != '000000' else '1')
    assert exc_info.value.code == -1


def test_solr(server, comm, token):
    item_id = comm.create_item(token, 'solr-needle', private_id(comm, token))['item_id']
    found = comm.solr_advanced_search('name:solr-needle', token, limit=5)
    assert [i['id'] for i in found] == [item_id]
    assert sent(server, 'midas.solr.search.advanced') == {
        'limit': '5', 'query': 'name:solr-needle', 'token': token}
    comm.solr_advanced_search('name:solr-needle')
    assert sent(server, 'midas.solr.search.advanced') == {
        'limit': '20', 'query': 'name:solr-needle'}


def test_thumbnails(server, comm, token):
    item_id, item = item_with_file(comm, token, 'image.png', png_bytes())
    item = comm.create_small_thumbnail(token, item_id)
    assert item['item_id'] == item_id and item['thumbnail_id']
    assert sent(server, 'midas.thumbnailcreator.create.small.thumbnail') == {
        'itemId': item_id, 'token': token}
    bitstream_id = comm.item_get(token, item_id)['revisions'][-1]['bitstreams'][0][
        'bitstream_id']
    thumbnail = comm.create_big_thumbnail(token, bitstream_id, item_id, width=30)
    assert thumbnail['item_id'] == item_id
    assert sent(server, 'midas.thumbnailcreator.create.big.thumbnail') == {
        'bitstreamId': bitstream_id, 'itemId': item_id, 'token': token, 'width': '30'}
    comm.create_big_thumbnail(token, bitstream_id, item_id)
    assert sent(server, 'midas.thumbnailcreator.create.big.thumbnail')['width'] == '575'


def test_thumbnail_of_a_text_file_fails(comm, token):
    item_id, _ = item_with_file(comm, token, 'a.txt', b'not an image')
    with pytest.raises(exceptions.ResponseError):
        comm.create_small_thumbnail(token, item_id)


def community_id(server, name='Lab'):
    return server.add_community(name)['community_id']


def test_tracker_on_midas_342(midas_342):
    server, comm, token = midas_342
    community = community_id(server)
    with pytest.raises(exceptions.ResponseError, match='submissionUuid'):
        comm.add_scalar_data(token, community, 'prod', 'metric', 'abc', '2020-01-01 10:00', 1)
    submission = comm.create_submission(
        token, community_id=community, producer_display_name='prod', producer_revision='abc',
        branch='main', submit_time='2020-01-01 10:00:00', name='nightly',
        params={'gpu': 'A100'})
    assert sent(server, 'midas.tracker.submission.add') == {
        'communityId': str(community), 'producerDisplayName': 'prod',
        'producerRevision': 'abc', 'branch': 'main', 'submitTime': '2020-01-01 10:00:00',
        'name': 'nightly', 'params': '{"gpu": "A100"}', 'token': token}
    assert not [c for c in server.calls if c.method == 'midas.tracker.submission.create']
    scalar = comm.add_scalar_data(token, community, 'prod', 'dice', 'abc',
                                  '2020-01-01 10:00', 0.91, submission_uuid=submission['uuid'],
                                  unit='%')
    assert float(scalar['value']) == 0.91
    assert scalar['submission_id'] == submission['submission_id']
    assert sent(server, 'midas.tracker.scalar.add')['submissionUuid'] == submission['uuid']
    item_id = comm.create_item(token, 'result', private_id(comm, token))['item_id']
    comm.associate_item_with_scalar_data(token, item_id, None, 'output',
                                         submission_uuid=submission['uuid'])
    assert sent(server, 'midas.tracker.item.associate') == {
        'itemId': item_id, 'label': 'output', 'submissionUuid': submission['uuid'],
        'token': token}
    assert server.query('SELECT label FROM tracker_submission2item')[0]['label'] == 'output'


def test_results_upload_json_missing_on_midas_342(midas_342, tmp_path):
    _, comm, token = midas_342
    path = tmp_path / 'results.json'
    path.write_text('{"dice": 0.9}')
    with pytest.raises(exceptions.InvalidToken, match='does not exist'):
        comm.upload_json_results(token, str(path), 1, 'prod', 'metric', 'abc', '2020-01-01')


def test_tracker_legacy_add_scalar_data(legacy):
    server, comm, token = legacy
    community = community_id(server)
    scalar = comm.add_scalar_data(
        token, community, 'prod', 'metric', 'abc123', '2020-01-01 10:00', 3.5,
        silent=True, unofficial=True, build_results_url='http://b', branch='main',
        params={'a': 1}, extra_urls=[{'label': 'l', 'text': 't', 'href': 'h'}])
    assert sent(server, 'midas.tracker.scalar.add') == {
        'branch': 'main', 'buildResultsUrl': 'http://b', 'communityId': str(community),
        'extraUrls': '[{"label": "l", "text": "t", "href": "h"}]', 'metricName': 'metric',
        'params': '{"a": 1}', 'producerDisplayName': 'prod', 'producerRevision': 'abc123',
        'silent': 'True', 'submitTime': '2020-01-01 10:00', 'token': token,
        'unofficial': 'True', 'value': '3.5'}
    assert float(scalar['value']) == 3.5
    comm.add_scalar_data(token, community, 'prod', 'metric', 'abc123', '2020-01-01 10:00', 1,
                         silent=False, config_item_id=None)
    assert {'silent', 'configItemId'} & set(sent(server, 'midas.tracker.scalar.add')) == set()
    item_id = comm.create_item(token, 'r', private_id(comm, token))['item_id']
    assert comm.associate_item_with_scalar_data(token, item_id, scalar['scalar_id'],
                                                'lbl') is None
    assert sent(server, 'midas.tracker.item.associate') == {
        'itemId': item_id, 'label': 'lbl', 'scalarIds': scalar['scalar_id'], 'token': token}


def test_tracker_legacy_upload_json_results(legacy, tmp_path):
    server, comm, token = legacy
    community = community_id(server)
    path = tmp_path / 'results.json'
    path.write_text(json.dumps({'scores': {'dice': 0.9, 'jaccard': 0.8, 'name': 'x'}}))
    scalars = comm.upload_json_results(token, str(path), community, 'prod', 'metric', 'abc',
                                       '2020-01-01 10:00', branch='main', silent=True,
                                       parent_keys='scores')
    assert sorted(float(s['value']) for s in scalars) == [0.8, 0.9]
    call = last_call(server, 'midas.tracker.results.upload.json')
    assert call.verb == 'PUT'
    query = dict(call.query)
    query.pop('method')
    assert query == {'branch': 'main', 'communityId': str(community), 'metricName': 'metric',
                     'parentKeys': 'scores', 'producerDisplayName': 'prod',
                     'producerRevision': 'abc', 'silent': 'True',
                     'submitTime': '2020-01-01 10:00', 'token': token}


def test_create_submission_with_a_bad_token(server, comm):
    with pytest.raises(exceptions.InvalidToken, match='Invalid token'):
        comm.create_submission('bad-token-bad-token', community_id=1,
                               producer_display_name='p', producer_revision='r',
                               branch='b', submit_time='2020-01-01')
    names = [c.method for c in server.calls if c.method.startswith('midas.tracker.sub')]
    assert names == ['midas.tracker.submission.add']
