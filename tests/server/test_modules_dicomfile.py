"""Unit tests of the DICOM Part 10 header reader behind the dicomextractor."""

import io
import struct
import zlib

import pytest

from pydas.testing import dicomfile
from pydas.testing.dicomfile import (EXPLICIT_VR_BIG_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN,
                                     IMPLICIT_VR_LITTLE_ENDIAN, build_dicom, encode_element,
                                     extractor_fields, read_header)

CT_ELEMENTS = [
    ((0x0008, 0x0005), 'CS', 'ISO_IR 100'),
    ((0x0008, 0x0008), 'CS', 'ORIGINAL\\PRIMARY\\AXIAL'),
    ((0x0008, 0x0060), 'CS', 'CT'),
    ((0x0008, 0x0090), 'PN', ''),
    ((0x0010, 0x0010), 'PN', 'CompressedSamples^CT1'),
    ((0x0018, 0x0050), 'DS', '5.000000'),
    ((0x0028, 0x0010), 'US', 128),
    ((0x0028, 0x0030), 'DS', '0.661468\\0.661468'),
]


def _fields(data):
    return extractor_fields(read_header(io.BytesIO(data)))


@pytest.mark.parametrize('syntax', [EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN,
                                    EXPLICIT_VR_BIG_ENDIAN])
def test_reads_every_uncompressed_transfer_syntax(syntax):
    fields = dict(_fields(build_dicom(CT_ELEMENTS, syntax, pixel_data=b'\x00\x01' * 64)))
    assert fields['TransferSyntaxUID'] == syntax
    assert fields['MediaStorageSOPClassUID'] == '1.2.840.10008.5.1.4.1.1.2'
    assert fields['ImageType'] == 'ORIGINAL\\PRIMARY\\AXIAL'
    assert fields['PatientName'] == 'CompressedSamples^CT1'
    assert fields['SliceThickness'] == '5.000000'
    assert fields['Rows'] == '128'
    assert fields['PixelSpacing'] == '0.661468\\0.661468'
    # empty values, binary values and pixel data are not metadata
    assert 'ReferringPhysicianName' not in fields
    assert 'FileMetaInformationVersion' not in fields
    assert 'PixelData' not in fields


def test_fields_keep_file_order_and_meta_group_first():
    names = [name for name, _ in _fields(build_dicom(CT_ELEMENTS))]
    assert names[:3] == ['FileMetaInformationGroupLength', 'MediaStorageSOPClassUID',
                         'MediaStorageSOPInstanceUID']
    assert names.index('Modality') < names.index('PatientName') < names.index('Rows')


def test_hand_assembled_explicit_little_endian_file():
    meta = (b'\x02\x00\x10\x00UI\x14\x001.2.840.10008.1.2.1\x00')
    data_set = (b'\x08\x00\x60\x00CS\x02\x00MR'
                b'\x28\x00\x10\x00US\x02\x00\x00\x02'
                b'\xe0\x7f\x10\x00OW\x00\x00\x04\x00\x00\x00\x01\x02\x03\x04')
    data = b'\x00' * 128 + b'DICM' + meta + data_set
    assert _fields(data) == [('TransferSyntaxUID', '1.2.840.10008.1.2.1'),
                             ('Modality', 'MR'), ('Rows', '512')]


def test_sequences_are_skipped_whatever_their_encoding():
    explicit_item = encode_element((0x0008, 0x1150), 'UI', '1.2.3')
    defined = (0x0008, 0x1140), 'SQ', (b'\xfe\xff\x00\xe0' + struct.pack('<I', len(explicit_item))
                                       + explicit_item)
    data = build_dicom([((0x0008, 0x0060), 'CS', 'CT'), defined,
                        ((0x0010, 0x0020), 'LO', 'P1')])
    # an undefined-length sequence with an undefined-length item holding a nested sequence
    item_end = b'\xfe\xff\x0d\xe0\x00\x00\x00\x00'
    sequence_end = b'\xfe\xff\xdd\xe0\x00\x00\x00\x00'
    nested = (b'\x08\x00\x15\x11SQ\x00\x00\xff\xff\xff\xff'
              b'\xfe\xff\x00\xe0\xff\xff\xff\xff' + explicit_item + item_end + sequence_end)
    undefined = (b'\x08\x00\x10\x11SQ\x00\x00\xff\xff\xff\xff'
                 b'\xfe\xff\x00\xe0\xff\xff\xff\xff' + nested + explicit_item
                 + item_end + sequence_end)
    # an undefined-length UN value: its content is implicit VR (PS3.5 6.2.2)
    implicit_item = b'\x08\x00\x50\x11\x06\x00\x00\x001.2.3\x00'
    unknown = (b'\x09\x00\x10\x10UN\x00\x00\xff\xff\xff\xff'
               b'\xfe\xff\x00\xe0\xff\xff\xff\xff' + implicit_item
               + item_end + sequence_end)
    marker = encode_element((0x0020, 0x0010), 'SH', 'S1')
    split = data.index(encode_element((0x0010, 0x0020), 'LO', 'P1'))
    data = data[:split] + undefined + unknown + data[split:] + marker
    fields = _fields(data)
    assert ('Modality', 'CT') in fields and ('PatientID', 'P1') in fields
    assert ('StudyID', 'S1') in fields
    assert not any(value == '1.2.3' for _, value in fields)


def test_stops_at_pixel_data():
    trailer = encode_element((0xFFFC, 0xFFFC), 'OB', b'\x00' * 8) + b'garbage!'
    data = build_dicom(CT_ELEMENTS, pixel_data=b'\x00' * 32) + trailer
    assert _fields(data)[-1] == ('PixelSpacing', '0.661468\\0.661468')


def test_binary_numbers_private_tags_and_character_sets():
    elements = [
        ((0x0008, 0x0005), 'CS', 'ISO_IR 192'),
        ((0x0009, 0x0010), 'LO', 'GEMS_IDEN_01'),
        ((0x0009, 0x1002), 'SH', 'CT01'),
        ((0x0010, 0x0010), 'PN', 'M\u00fcller'.encode('utf-8')),
        ((0x0018, 0x1310), 'US', [0, 256, 256, 0]),
        ((0x0019, 0x1001), 'FD', 862399761.11107898),
        ((0x0019, 0x1002), 'FL', -11.2),
        ((0x0028, 0x0120), 'SS', -2000),
    ]
    fields = _fields(build_dicom(elements))
    assert ('PrivateCreator', 'GEMS_IDEN_01') in fields
    assert ('PatientName', 'M\u00fcller') in fields
    assert ('AcquisitionMatrix', '0\\256\\256\\0') in fields
    assert ('Unknown', '862399761.11107898') in fields
    assert ('Unknown', '-11.1999998') in fields  # float32, printed as dcmtk does (133)
    assert ('PixelPaddingValue', '-2000') in fields


def test_deflated_transfer_syntax():
    plain = build_dicom(CT_ELEMENTS, EXPLICIT_VR_LITTLE_ENDIAN)
    syntax = dicomfile.DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN
    header = build_dicom([], syntax)
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    data_set = b''.join(encode_element(tag, vr, value) for tag, vr, value in CT_ELEMENTS)
    data = header + compressor.compress(data_set) + compressor.flush()
    assert dict(_fields(data))['Rows'] == dict(_fields(plain))['Rows'] == '128'


@pytest.mark.parametrize('data, message', [
    (b'\x89PNG\r\n\x1a\n' + b'\x00' * 200, 'DICM'),
    (b'\x00' * 128 + b'DICM', 'transfer syntax'),
    (build_dicom(CT_ELEMENTS)[:-3], 'truncated'),
    (build_dicom([]) + b'\x08\x00\x10\x11SQ\x00\x00\xff\xff\xff\xff', 'delimiter'),
])
def test_refuses_what_is_not_dicom_or_damaged(data, message):
    with pytest.raises(dicomfile.DicomError, match=message):
        read_header(io.BytesIO(data))


def test_header_get():
    header = read_header(io.BytesIO(build_dicom(CT_ELEMENTS)))
    assert header.transfer_syntax == EXPLICIT_VR_LITTLE_ENDIAN
    assert header.get('Modality') == 'CT'
    assert header.get('StudyDate', 'none') == 'none'
