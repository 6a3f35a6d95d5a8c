"""Midas module ``dicomextractor``: DICOM header fields as item metadata (API §4.43).

``midas.dicomextractor.extract`` reads the header of the first bitstream of
the item's head revision with pydicom and stores each field, those inside
sequences included, as metadata ``DICOM.<keyword>`` of that revision, as the
recorded server does with dcmtk's ``dcm2xml`` (names and number formats of
dcmtk: :mod:`pydas.testing.dcmtk`). A name that occurs several times
(``Unknown``, ``PrivateCreator``, a tag repeated in sequence items) keeps its
first position and its first value (transcript 133: the top-level PatientID,
not those of OtherPatientIDsSequence). Binary values and empty ones are left out.

Deviations: the real extractor also renders a thumbnail from the pixel data
(dcmj2pnm); this server does not. A bitstream that is not DICOM, or one
pydicom cannot read, makes the recorded server crash (HTTP 500 HTML page,
``XMLReader::XML(): Argument #1 ($source) cannot be empty``, in
ExtractorComponent.php line 214: dcm2xml printed nothing); this server answers
the same page.

pydicom comes with the ``server`` extra (``pip install pydas[server]``). Without it,
every extraction answers that same page: it is what Midas answers when dcmtk is not
installed, since the missing ``dcm2xml`` prints nothing either.
"""

import json
import warnings

from pydas.testing import dcmtk, http
from pydas.testing.registry import ApiError, api_method
from pydas.testing.storage import REVISION_FIELDS, WRITE

try:
    import pydicom
    from pydicom.multival import MultiValue
except ImportError:  # the server extra is not installed: as Midas without dcmtk
    pydicom = None

MODULE = 'dicomextractor'
ELEMENT = 'DICOM'
NO_XML_MESSAGE = 'XMLReader::XML(): Argument #1 ($source) cannot be empty'
NO_XML_SOURCE = ('MIDAS_ROOT/modules/dicomextractor/controllers/components/'
                 'ExtractorComponent.php', 214)
TEXT_VRS = {'AE', 'AS', 'CS', 'DA', 'DS', 'DT', 'IS', 'LO', 'LT', 'PN', 'SH', 'ST', 'TM',
            'UC', 'UI', 'UR', 'UT'}
# binary numbers: printf format, or the significant digits dcmtk prints floats with
NUMBER_VRS = {'US': '%d', 'SS': '%d', 'UL': '%d', 'SL': '%d', 'UV': '%d', 'SV': '%d',
              'FL': 9, 'FD': 17}
# values longer than this are left unread (pydicom defers them)
MAX_VALUE_LENGTH = 64 << 10


class NotExtracted(Exception):
    """dcm2xml would print nothing for this bitstream."""


def _elements(dataset):
    """The elements of a data set in document order, those of sequence items after
    their sequence."""
    for element in dataset:
        yield element
        if element.VR == 'SQ':
            for item in element.value:
                yield from _elements(item)


def _keyword(element):
    if element.tag.is_private_creator:
        return 'PrivateCreator'
    if element.tag.is_private:
        return dcmtk.PRIVATE_KEYWORDS.get(
            (element.tag.group, element.private_creator, element.tag.element & 0xFF),
            'Unknown')
    return element.keyword or 'Unknown'


def _text(element):
    """The value as dcm2xml prints it, or None for a binary, sequence or empty one."""
    if element.VR not in TEXT_VRS and element.VR not in NUMBER_VRS and element.VR != 'AT':
        return None
    values = element.value
    if values is None or values == '':
        return None
    if not isinstance(values, (list, MultiValue)):
        values = [values]
    if element.VR in TEXT_VRS:
        text = '\\'.join('' if value is None else str(value) for value in values)
        return text.strip(' \x00') or None
    if element.VR == 'AT':
        return '\\'.join('(%04x,%04x)' % (value >> 16, value & 0xFFFF) for value in values)
    form = NUMBER_VRS[element.VR]
    if isinstance(form, int):
        return '\\'.join(dcmtk.format_float(value, form) for value in values)
    return '\\'.join(form % value for value in values)


def header_fields(path):
    """The ``(qualifier, value)`` metadata of a DICOM file, one per qualifier.

    :raises NotExtracted: if pydicom is missing or cannot read the file
    """
    if pydicom is None:
        raise NotExtracted('pydicom is not installed')
    merged = {}
    try:
        with warnings.catch_warnings():  # pydicom warns of each odd value: dcmtk is silent
            warnings.simplefilter('ignore')
            dataset = pydicom.dcmread(path, stop_before_pixels=True,
                                      defer_size=MAX_VALUE_LENGTH)
            for element in list(_elements(dataset.file_meta)) + list(_elements(dataset)):
                value = _text(element)
                if value is not None:
                    merged.setdefault(_keyword(element), value)
    # pydicom reports a broken file with many kinds of errors (its own, ValueError,
    # struct.error, EOFError...): dcm2xml would print nothing for any of them
    except Exception as error:
        raise NotExtracted(str(error))
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
            raise NotExtracted('the head revision has no bitstream')
        fields = header_fields(call.store.bitstream_file(bitstreams[0]))
    except NotExtracted:
        # dcm2xml printed nothing and Midas fed that empty output to XMLReader
        raise http.FatalError(NO_XML_MESSAGE, *NO_XML_SOURCE)
    with call.store.transaction():
        for qualifier, value in fields:
            call.store.set_metadata(revision['itemrevision_id'], ELEMENT, value, qualifier)
    # the method returns the revision DAO json-encoded into a string (API §4.43)
    return revision_json(revision)
