"""Image and DICOM files made for tests, with Pillow and pydicom (the ``test`` extra)."""

import io

from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2'


def gradient(width, height):
    """An RGB image whose red runs left to right and green top to bottom."""
    image = Image.new('RGB', (width, height))
    image.putdata([(x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1), 128)
                   for y in range(height) for x in range(width)])
    return image


def image_bytes(width=64, height=48, format='PNG'):
    """The :func:`gradient` image encoded as ``format`` (a Pillow format name)."""
    buffer = io.BytesIO()
    gradient(width, height).save(buffer, format)
    return buffer.getvalue()


def dicom_bytes(**elements):
    """A small DICOM Part 10 file (explicit VR little endian) with these keyword values."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CT_IMAGE_STORAGE
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset = Dataset()
    dataset.file_meta = meta
    dataset.SOPClassUID = CT_IMAGE_STORAGE
    dataset.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    for keyword, value in elements.items():
        setattr(dataset, keyword, value)
    buffer = io.BytesIO()
    try:
        dataset.save_as(buffer, enforce_file_format=True)
    except TypeError:  # pydicom 2
        dataset.save_as(buffer, write_like_original=False)
    return buffer.getvalue()
