"""The public surface is the original pydas reference: names, parameters, order, defaults."""

import inspect

import pytest
import requests

from pydas import core, drivers, exceptions

# From the reference documentation (seeds/000_e087c2f70ddb8d52.txt), plus our keyword
# extras, each marked "extra".
SIGNATURES = {
    'core.Communicator': '(url, drivers=None, session=None, timeout=None, retry=None)',
    'core.Communicator.set_auth': '(self, value)',
    'drivers.BaseDriver': "(url='')",
    'drivers.BaseDriver.login_with_api_key': "(self, email, api_key, application='Default')",
    'drivers.BaseDriver.login': "(self, email, api_key, application='Default')",  # extra
    'drivers.BaseDriver.request': '(self, method, parameters=None, file_payload=None)',
    'drivers.BatchmakeDriver.add_condor_dag':
        '(self, token, batchmaketaskid, dagfilename, dagmanoutfilename)',
    'drivers.BatchmakeDriver.add_condor_job':
        '(self, token, batchmaketaskid, jobdefinitionfilename, outputfilename, '
        'errorfilename, logfilename, postfilename)',
    'drivers.CoreDriver.create_community': '(self, token, name, **kwargs)',
    'drivers.CoreDriver.create_folder': '(self, token, name, parent_id, **kwargs)',
    'drivers.CoreDriver.create_item': '(self, token, name, parent_id, **kwargs)',
    'drivers.CoreDriver.create_link': '(self, token, folder_id, url, **kwargs)',
    'drivers.CoreDriver.delete_folder': '(self, token, folder_id)',
    'drivers.CoreDriver.delete_item': '(self, token, item_id)',
    # extra: return_item
    'drivers.CoreDriver.download_item':
        '(self, item_id, token=None, revision=None, return_item=False)',
    'drivers.CoreDriver.folder_children': '(self, token, folder_id)',
    'drivers.CoreDriver.folder_get': '(self, token, folder_id)',
    'drivers.CoreDriver.generate_upload_token':
        '(self, token, item_id, filename, checksum=None)',
    'drivers.CoreDriver.get_community_by_id': '(self, community_id, token=None)',
    'drivers.CoreDriver.get_community_by_name': '(self, name, token=None)',
    'drivers.CoreDriver.get_community_children': '(self, community_id, token=None)',
    'drivers.CoreDriver.get_default_api_key': '(self, email, password)',
    'drivers.CoreDriver.get_item_metadata': '(self, item_id, token=None, revision=None)',
    'drivers.CoreDriver.get_server_info': '(self)',
    'drivers.CoreDriver.get_server_version': '(self)',
    'drivers.CoreDriver.get_user_by_email': '(self, email)',
    'drivers.CoreDriver.get_user_by_id': '(self, user_id)',
    'drivers.CoreDriver.get_user_by_name': '(self, firstname, lastname)',
    'drivers.CoreDriver.item_get': '(self, token, item_id)',
    'drivers.CoreDriver.list_communities': '(self, token=None)',
    'drivers.CoreDriver.list_modules': '(self)',
    'drivers.CoreDriver.list_user_folders': '(self, token)',
    'drivers.CoreDriver.list_users': '(self, limit=20)',
    'drivers.CoreDriver.move_folder': '(self, token, folder_id, dest_folder_id)',
    'drivers.CoreDriver.move_item': '(self, token, item_id, src_folder_id, dest_folder_id)',
    'drivers.CoreDriver.perform_upload': '(self, upload_token, filename, **kwargs)',
    'drivers.CoreDriver.search': '(self, search, token=None)',
    'drivers.CoreDriver.search_item_by_name': '(self, name, token=None)',
    'drivers.CoreDriver.search_item_by_name_and_folder': '(self, name, folder_id, token=None)',
    'drivers.CoreDriver.search_item_by_name_and_folder_name':
        '(self, name, folder_name, token=None)',
    'drivers.CoreDriver.set_item_metadata':
        '(self, token, item_id, element, value, qualifier=None)',
    'drivers.CoreDriver.share_item': '(self, token, item_id, dest_folder_id)',
    # extras of the transfer engine
    'drivers.CoreDriver.get_upload_offset': '(self, upload_token)',
    'drivers.CoreDriver.bitstream_get': '(self, token, bitstream_id)',
    'drivers.CoreDriver.delete_bitstream': '(self, token, bitstream_id)',
    'drivers.CoreDriver.download_bitstream': '(self, bitstream_id, token=None, offset=0)',
    'drivers.CoreDriver.stream_bitstream': '(self, bitstream_id, token=None, offset=0)',
    'drivers.CoreDriver.generate_upload_token_for_new_item':
        '(self, token, folder_id, filename, checksum=None)',
    'drivers.DicomextractorDriver.extract_dicommetadata': '(self, token, item_id)',
    'drivers.MultiFactorAuthenticationDriver.mfa_otp_login':
        '(self, temp_token, one_time_pass)',
    'drivers.SolrDriver.solr_advanced_search': '(self, query, token=None, limit=20)',
    'drivers.ThumbnailCreatorDriver.create_big_thumbnail':
        '(self, token, bitstream_id, item_id, width=575)',
    'drivers.ThumbnailCreatorDriver.create_small_thumbnail': '(self, token, item_id)',
    'drivers.TrackerDriver.add_scalar_data':
        '(self, token, community_id, producer_display_name, metric_name, producer_revision, '
        'submit_time, value, **kwargs)',
    # extra: submission_uuid (Midas 3.4.2 associates items with submissions)
    'drivers.TrackerDriver.associate_item_with_scalar_data':
        '(self, token, item_id, scalar_id, label, submission_uuid=None)',
    'drivers.TrackerDriver.upload_json_results':
        '(self, token, filepath, community_id, producer_display_name, metric_name, '
        'producer_revision, submit_time, **kwargs)',
    'drivers.TrackerDriver.create_submission': '(self, token, **kwargs)',  # extra
}

PROPERTIES = {
    'core.Communicator': ['debug', 'drivers', 'url', 'verify_ssl_certificate'],
    'drivers.BaseDriver': ['debug', 'full_url', 'url', 'verify_ssl_certificate'],
}

DRIVERS = ['BaseDriver', 'CoreDriver', 'BatchmakeDriver', 'DicomextractorDriver',
           'MultiFactorAuthenticationDriver', 'SolrDriver', 'ThumbnailCreatorDriver',
           'TrackerDriver']

MODULES = {'core': core, 'drivers': drivers}


def resolve(path):
    module, *names = path.split('.')
    value = MODULES[module]
    for name in names:
        value = getattr(value, name)
    return value


@pytest.mark.parametrize('path', sorted(SIGNATURES))
def test_signature(path):
    assert str(inspect.signature(resolve(path))) == SIGNATURES[path]


@pytest.mark.parametrize('path', sorted(SIGNATURES))
def test_docstring_is_rest(path):
    doc = inspect.getdoc(resolve(path))
    assert doc
    for name in inspect.signature(resolve(path)).parameters:
        if name not in ('self', 'kwargs'):
            assert ':param %s:' % name in doc, name


@pytest.mark.parametrize('path', sorted(PROPERTIES))
def test_properties(path):
    for name in PROPERTIES[path]:
        assert isinstance(getattr(resolve(path), name), property), name


def test_every_public_driver_method_is_in_the_table():
    for driver in DRIVERS:
        cls = getattr(drivers, driver)
        for name, value in vars(cls).items():
            if not name.startswith('_') and inspect.isfunction(value):
                assert 'drivers.%s.%s' % (driver, name) in SIGNATURES


def test_driver_constructors():
    for driver in DRIVERS:
        assert str(inspect.signature(getattr(drivers, driver))) == "(url='')"


# The original pydas tree, exactly (issue 9); our additions have single bases.
TREE = {
    'PydasException': (Exception,),
    'RequestError': (exceptions.PydasException, requests.exceptions.ConnectionError),
    'SSLVerificationFailed': (exceptions.RequestError, requests.exceptions.SSLError),
    'ResponseError': (exceptions.PydasException,),
    'ParseError': (exceptions.ResponseError, ValueError),
    'HTTPError': (exceptions.ResponseError, requests.exceptions.HTTPError),
    'BadRequest': (exceptions.HTTPError,),
    'InternalError': (exceptions.BadRequest,),
    'InvalidParameter': (exceptions.BadRequest, ValueError),
    'InvalidPolicy': (exceptions.BadRequest, ValueError),
    'UploadFailed': (exceptions.BadRequest,),
    'UploadTokenGenerationFailed': (exceptions.BadRequest,),
    'Unauthorized': (exceptions.HTTPError,),
    'InvalidToken': (exceptions.Unauthorized, ValueError),
    'InvalidUploadToken': (exceptions.Unauthorized, ValueError),
    'Forbidden': (exceptions.HTTPError,),
    'NotFound': (exceptions.HTTPError,),
    'MethodNotAllowed': (exceptions.HTTPError,),
    'ServerPathNotFound': (exceptions.PydasException, LookupError),
    'LocalPathNotFound': (exceptions.PydasException, FileNotFoundError),
    'TransferError': (exceptions.PydasException,),
    'TokenRenewalFailed': (exceptions.PydasException,),
    'IncompleteTransfer': (exceptions.PydasException,),
    'LocalFileChanged': (exceptions.PydasException,),
    'TransferInterrupted': (KeyboardInterrupt,),
}


def test_the_tree_lists_every_exception_class():
    classes = {name for name, value in vars(exceptions).items()
               if isinstance(value, type) and issubclass(value, BaseException)}
    assert classes == set(TREE)


@pytest.mark.parametrize('name', sorted(TREE))
def test_exception_tree(name):
    cls = getattr(exceptions, name)
    assert cls.__bases__ == TREE[name]
    assert name in exceptions.__doc__


@pytest.mark.parametrize('status, code, name', [
    (200, -100, 'InternalError'), (200, -101, 'InvalidToken'), (200, -105, 'UploadFailed'),
    (200, -140, 'UploadTokenGenerationFailed'), (200, -141, 'InvalidUploadToken'),
    (200, -150, 'InvalidParameter'), (200, -151, 'InvalidPolicy'), (200, 0, 'ResponseError'),
    (200, -1, 'ResponseError'), (200, 403, 'ResponseError'), (400, None, 'BadRequest'),
    (401, None, 'Unauthorized'), (403, -151, 'Forbidden'), (404, None, 'NotFound'),
    (405, None, 'MethodNotAllowed'), (500, None, 'HTTPError'), (502, -101, 'HTTPError'),
])
def test_exception_class(status, code, name):
    assert exceptions.exception_class(status, code) is getattr(exceptions, name)
