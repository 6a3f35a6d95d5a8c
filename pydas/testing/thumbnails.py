"""Midas module ``thumbnailcreator``: small and big item thumbnails (API §4.41-4.42).

Images are read and scaled with Pillow, whatever their format (PNG, JPEG, TIFF, GIF,
BMP...; the first frame of a multi-frame file). As Midas does with ImageMagick, the
thumbnails are JPEG, stored as bitstreams named ``thumbnail.jpeg`` (``image/jpeg``),
with ``itemrevision_id`` -1: the small one (100x100, the image scaled to cover the
square and cut evenly) is the item's ``thumbnail_id``, the big one (``width`` pixels
wide, the height in proportion) an ``itemthumbnail`` record. A file that is no image
fails with -100 ``Unsupported image format``, as a text file does on the recorded server;
an image that cannot be decoded (truncated, too many pixels) with -100 ``Could not
create thumbnail from the bitstream``.

Pillow comes with the ``server`` extra (``pip install pydas[server]``). Without it, every
thumbnail fails with -100 ``Could not create thumbnail from the bitstream``: what
Midas answers when its image tool is missing, since it cannot tell an image from
anything else then.
"""

from pydas.testing import http
from pydas.testing.registry import ApiError, api_method
from pydas.testing.storage import WRITE

try:
    from PIL import Image, ImageOps, UnidentifiedImageError
except ImportError:  # the server extra is not installed: as Midas without ImageMagick
    Image = None

MODULE = 'thumbnailcreator'
SMALL_SIZE = 100
DEFAULT_BIG_WIDTH = 575
THUMBNAIL_NAME = 'thumbnail.jpeg'
THUMBNAIL_TYPE = 'image/jpeg'
THUMBNAIL_REVISION = -1
JPEG_QUALITY = 92  # ImageMagick's default
# images are decoded in memory: refuse sources (and targets) beyond these (16 Mpx of
# RGB: 48 MiB)
MAX_PIXELS = 16 << 20
MAX_WIDTH = 4096
# a JPEG is decoded at the smallest scale that still gives this many pixels each way
DRAFT_SIZE = 2048
UNSUPPORTED = 'Unsupported image format'
NOT_CREATED = 'Could not create thumbnail from the bitstream'


def _writable_item(call):
    """The item of ``itemId`` (or ``id``) if the caller may write it; Midas's errors otherwise."""
    item_id = call.param('itemId', call.param('id'))
    if item_id is None:
        raise ApiError(-150, 'Parameter id is not defined')
    user = call.user
    item = call.store.item(item_id)
    if item is None:
        raise ApiError(0, 'Error in parameter itemdao or policy when checking Item policy.')
    if not call.store.can_access_item(user, item_id, WRITE):
        raise ApiError(-151, "You didn't log in or you don't have the write permission for "
                             "the given item.")
    return item


def load_image(path):
    """Decode an image file for a thumbnail (RGB, or L for grey images).

    :raises ApiError: -100 when it is not an image this server can read
    """
    if Image is None:
        raise ApiError(-100, NOT_CREATED)
    try:
        with Image.open(path) as image:
            # a large JPEG is decoded at 1/2, 1/4 or 1/8 scale (far quicker, less memory)
            image.draft(image.mode, (DRAFT_SIZE, DRAFT_SIZE))
            if image.width * image.height > MAX_PIXELS:
                raise ApiError(-100, NOT_CREATED)
            image.load()
            return _displayable(image)
    except (FileNotFoundError, IsADirectoryError, UnidentifiedImageError):
        # a link bitstream has no content; other files are no image
        raise ApiError(-100, UNSUPPORTED)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise ApiError(-100, NOT_CREATED)


def _displayable(image):
    """The image in a mode JPEG can hold: transparency flattened on white, 16-bit and
    floating point grey scaled to 8 bits."""
    if image.mode in ('I', 'F') or image.mode.startswith('I;16'):
        image = image.convert('I').point(lambda value: value * (1 / 256)).convert('L')
    if image.mode in ('RGBA', 'LA', 'PA') or 'transparency' in image.info:
        rgba = image.convert('RGBA')
        flat = Image.new('RGB', rgba.size, 'white')
        flat.paste(rgba, mask=rgba.getchannel('A'))
        return flat
    return image if image.mode in ('RGB', 'L') else image.convert('RGB')


def scale_to_width(image, width):
    """The image scaled to ``width`` columns, its height in proportion."""
    height = max(1, int(round(image.height * width / image.width)))
    if width * height > MAX_PIXELS:
        raise ApiError(-100, NOT_CREATED)
    return image.resize((width, height), Image.LANCZOS)


def store_thumbnail(store, image):
    """Encode a thumbnail as JPEG and store it as a thumbnail bitstream; return it."""
    path = store.temp_path()
    image.save(path, 'JPEG', quality=JPEG_QUALITY)
    return store.add_bitstream_from_file(THUMBNAIL_REVISION, THUMBNAIL_NAME, path,
                                         mimetype=THUMBNAIL_TYPE)


def set_small_thumbnail(store, item_id, image):
    """Make a 100x100 thumbnail of ``image`` the item's ``thumbnail_id`` (the old one goes).

    :returns: the new thumbnail bitstream
    """
    small = ImageOps.fit(image, (SMALL_SIZE, SMALL_SIZE), Image.LANCZOS)
    thumbnail = store_thumbnail(store, small)
    with store.transaction():
        previous = store.value('SELECT thumbnail_id FROM item WHERE item_id = ?', item_id)
        store.execute('UPDATE item SET thumbnail_id = ? WHERE item_id = ?',
                      thumbnail['bitstream_id'], item_id)
        if previous is not None:
            store.delete_bitstream(previous)
    return thumbnail


@api_method('midas.thumbnailcreator.create.big.thumbnail', module=MODULE)
def create_big_thumbnail(call):
    """Scale an image bitstream to ``width`` pixels wide and make it the item's large thumbnail.

    :param bitstreamId: The bitstream to create the thumbnail from
    :param itemId: The item to set the thumbnail on
    :param width: (Optional) target width in pixels, 575 when absent; the height follows
        the image's proportions
    :returns: the new item thumbnail row
    """
    item = _writable_item(call)
    # Midas neither validates nor permission-checks the bitstream: an unknown one
    # crashes the PHP code (a fatal error page)
    bitstream = call.store.bitstream(call.param('bitstreamId'))
    if bitstream is None:
        raise http.FatalError('Call to a member function getFullPath() on null')
    try:
        width = int(call.param('width', DEFAULT_BIG_WIDTH))
    except ValueError:
        width = 0
    if not 0 < width <= MAX_WIDTH:
        raise ApiError(-100, NOT_CREATED)
    image = load_image(call.store.bitstream_file(bitstream))
    thumbnail = store_thumbnail(call.store, scale_to_width(image, width))
    return _record_big_thumbnail(call.store, item['item_id'], thumbnail['bitstream_id'])


def _record_big_thumbnail(store, item_id, thumbnail_id):
    """Point the item's itemthumbnail record at a new bitstream, deleting the old one."""
    with store.transaction():
        record = store.one('SELECT * FROM itemthumbnail WHERE item_id = ?', item_id)
        if record is None:
            record_id = store.execute('INSERT INTO itemthumbnail (item_id, thumbnail_id) '
                                      'VALUES (?, ?)', item_id, thumbnail_id)
        else:
            record_id = record['itemthumbnail_id']
            store.execute('UPDATE itemthumbnail SET thumbnail_id = ? WHERE itemthumbnail_id = ?',
                          thumbnail_id, record_id)
            if record['thumbnail_id'] is not None:
                store.delete_bitstream(record['thumbnail_id'])
    return {'itemthumbnail_id': record_id, 'item_id': item_id, 'thumbnail_id': thumbnail_id}


@api_method('midas.thumbnailcreator.create.small.thumbnail', module=MODULE)
def create_small_thumbnail(call):
    """Make a 100x100 thumbnail of the first file of the item's head revision, for the item.

    :param itemId: The item to set the thumbnail on
    :returns: the item, whose ``thumbnail_id`` now names the new thumbnail
    """
    item = _writable_item(call)
    revision = call.store.head_revision(item['item_id'])
    if revision is None:
        raise ApiError(-151, 'The head revision of the item does not contain any revisions')
    bitstreams = call.store.bitstreams(revision['itemrevision_id'])
    if not bitstreams:
        raise ApiError(-151, 'The head revision of the item does not contain any bitstreams')
    image = load_image(call.store.bitstream_file(bitstreams[0]))
    set_small_thumbnail(call.store, item['item_id'], image)
    return call.store.item(item['item_id'])
