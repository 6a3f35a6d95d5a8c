"""Midas module ``dicomextractor``: DICOM header fields as item metadata (API §4.43).

``midas.dicomextractor.extract`` reads the header of the first bitstream of
the item's head revision (:mod:`pydas.testing.dicomfile`) and stores each
field, those inside sequences included, as metadata ``DICOM.<keyword>`` of that
revision, as the recorded server does with dcmtk's ``dcm2xml``. A name that
occurs several times (``Unknown``, ``PrivateCreator``, a tag repeated in sequence
items) keeps its first position and its first value (transcript 133: the
top-level PatientID, not those of OtherPatientIDsSequence).

Deviations: the real extractor also renders a thumbnail from the pixel data
(dcmj2pnm); this server does not. A bitstream that is not DICOM makes the
recorded server crash (HTTP 500 HTML page, ``XMLReader::XML(): Argument #1
($source) cannot be empty``, in ExtractorComponent.php line 214); this server
answers the same page.
"""

import json

from pydas.testing import dicomfile, http
from pydas.testing.registry import ApiError, api_method
from pydas.testing.storage import REVISION_FIELDS, WRITE

MODULE = 'dicomextractor'
ELEMENT = 'DICOM'
NO_XML_MESSAGE = 'XMLReader::XML(): Argument #1 ($source) cannot be empty'
NO_XML_SOURCE = ('MIDAS_ROOT/modules/dicomextractor/controllers/components/'
                 'ExtractorComponent.php', 214)


def header_fields(path):
    """The ``(qualifier, value)`` metadata of a DICOM file, one per qualifier.

    :raises pydas.testing.dicomfile.DicomError: if the file is not DICOM
    """
    with open(path, 'rb') as handle:
        fields = dicomfile.extractor_fields(dicomfile.read_header(handle, nested=True))
    merged = {}
    for qualifier, value in fields:
        merged.setdefault(qualifier, value)
    return list(merged.items())


def revision_json(revision):
    """The revision as PHP ``json_encode`` writes the DAO's public properties."""
    properties = {'_model': 'ItemRevision', '_key': 'itemrevision_id', 'saved': True}
    properties.update((field, None if revision[field] is None else str(revision[field]))
                      for field in REVISION_FIELDS)
    return json.dumps(properties, separators=(',', ':')).replace('/', '\\/')


@api_method('midas.dicomextractor.extract', module=MODULE)
def extract(call):
    """Extract the dicom metadata from a revision.

    :param item: id of the item whose head revision is read
    :returns: the id of the revision
    """
    item_id = call.require('item')
    user = call.user
    if call.store.item(item_id) is None:
        raise ApiError(0, 'Error in parameter itemdao or policy when checking Item policy.')
    if not call.store.can_access_item(user, item_id, WRITE):
        raise ApiError(-151, "You didn't log in or you don't have the write permission for "
                             "the given item.")
    revision = call.store.head_revision(item_id)
    if revision is None:
        raise ApiError(-151, 'The item has no revisions')
    bitstreams = call.store.bitstreams(revision['itemrevision_id'])
    try:
        if not bitstreams:
            raise dicomfile.DicomError('the head revision has no bitstream')
        fields = header_fields(call.store.bitstream_file(bitstreams[0]))
    except (dicomfile.DicomError, OSError):
        # dcm2xml printed nothing and Midas fed that empty output to XMLReader
        raise http.FatalError(NO_XML_MESSAGE, *NO_XML_SOURCE)
    with call.store.transaction():
        for qualifier, value in fields:
            call.store.set_metadata(revision['itemrevision_id'], ELEMENT, value, qualifier)
    # the method returns the revision DAO json-encoded into a string (API §4.43)
    return revision_json(revision)
