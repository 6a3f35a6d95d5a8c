"""PNG decoding, encoding and resampling for the embedded server's thumbnails.

Standard library only (``zlib`` + ``struct``). The decoder reads
non-interlaced PNG images of every colour type: greyscale (bit depths 1, 2, 4,
8, 16), greyscale + alpha, RGB, RGBA (8, 16) and palette (1, 2, 4, 8; the
``tRNS`` chunk of a palette image becomes an alpha channel). Sixteen-bit
samples keep their high byte; colour-key transparency of greyscale/RGB images
is ignored. An interlaced (Adam7) image raises :class:`PngError`.

Decoded pixels are an :class:`Image`: 8-bit samples, 1 to 4 channels
(``L``, ``LA``, ``RGB``, ``RGBA``), rows top to bottom.
"""

import itertools
import operator
import struct
import zlib

SIGNATURE = b'\x89PNG\r\n\x1a\n'

# channel count -> PNG colour type of the encoder
_COLOUR_TYPE_OF_CHANNELS = {1: 0, 2: 4, 3: 2, 4: 6}
# PNG colour type -> samples per pixel as stored
_SAMPLES_OF_COLOUR_TYPE = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_ALLOWED_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
# decompressed image data beyond this is refused (a decompression bomb)
MAX_PIXELS = 64 * 1024 * 1024


class PngError(ValueError):
    """The data is not a PNG image this decoder supports."""


class Image(object):
    """Pixels with 8-bit samples.

    :param width: columns
    :param height: rows
    :param channels: samples per pixel: 1 (L), 2 (LA), 3 (RGB) or 4 (RGBA)
    :param pixels: ``width * height * channels`` bytes, row after row
    """

    def __init__(self, width, height, channels, pixels):
        if len(pixels) != width * height * channels:
            raise ValueError('pixel data does not match %dx%dx%d' % (width, height, channels))
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = bytes(pixels)

    def __repr__(self):
        return '<Image %dx%d, %d channel(s)>' % (self.width, self.height, self.channels)

    def row(self, y):
        """The bytes of row ``y``."""
        stride = self.width * self.channels
        return self.pixels[y * stride:(y + 1) * stride]


def is_png(data):
    """True if ``data`` starts with the PNG signature."""
    return data[:8] == SIGNATURE


# -- decoding ---------------------------------------------------------------

def _chunks(data):
    """Yield ``(type, body)`` of each chunk, checking lengths and CRCs."""
    if not is_png(data):
        raise PngError('not a PNG file (bad signature)')
    position = len(SIGNATURE)
    while position < len(data):
        if position + 8 > len(data):
            raise PngError('truncated PNG chunk header')
        length, kind = struct.unpack('>I4s', data[position:position + 8])
        body_end = position + 8 + length
        if body_end + 4 > len(data):
            raise PngError('truncated PNG chunk %r' % kind)
        body = data[position + 8:body_end]
        (crc,) = struct.unpack('>I', data[body_end:body_end + 4])
        if zlib.crc32(kind + body) & 0xffffffff != crc:
            raise PngError('bad CRC in PNG chunk %r' % kind)
        yield kind, body
        if kind == b'IEND':
            return
        position = body_end + 4
    raise PngError('PNG file has no IEND chunk')


class _Header(object):
    def __init__(self, body):
        if len(body) != 13:
            raise PngError('bad IHDR chunk')
        (self.width, self.height, self.depth, self.colour_type, compression, filtering,
         interlace) = struct.unpack('>IIBBBBB', body)
        if self.width == 0 or self.height == 0:
            raise PngError('PNG image has no pixels')
        if self.depth not in _ALLOWED_DEPTHS.get(self.colour_type, ()):
            raise PngError('invalid PNG colour type %d with bit depth %d'
                           % (self.colour_type, self.depth))
        if compression != 0 or filtering != 0:
            raise PngError('unknown PNG compression or filter method')
        if interlace != 0:
            raise PngError('interlaced PNG images are not supported')
        if self.width * self.height > MAX_PIXELS:
            raise PngError('PNG image too large (%dx%d)' % (self.width, self.height))
        self.samples = _SAMPLES_OF_COLOUR_TYPE[self.colour_type]
        bits_per_pixel = self.samples * self.depth
        self.row_bytes = (self.width * bits_per_pixel + 7) // 8
        # the filters work on whole bytes: the left neighbour is 1 byte away below 8 bits
        self.filter_unit = max(1, bits_per_pixel // 8)


def _unfilter_row(kind, raw, previous, unit):
    """Undo the filter of one scanline (PNG specification, section 9)."""
    if kind == 0:
        return bytearray(raw)
    if kind == 1:
        out = bytearray(len(raw))
        for start in range(unit):
            out[start::unit] = bytes(itertools.accumulate(raw[start::unit],
                                                          lambda a, b: (a + b) & 0xff))
        return out
    if kind == 2:
        return bytearray((a + b) & 0xff for a, b in zip(raw, previous))
    if kind == 3:
        out = bytearray(raw)
        for i in range(len(out)):
            left = out[i - unit] if i >= unit else 0
            out[i] = (out[i] + ((left + previous[i]) >> 1)) & 0xff
        return out
    if kind == 4:
        return _unpaeth(raw, previous, unit)
    raise PngError('bad PNG filter type %d' % kind)


def _unpaeth(raw, previous, unit):
    out = bytearray(raw)
    for i in range(len(out)):
        a = out[i - unit] if i >= unit else 0
        b = previous[i]
        c = previous[i - unit] if i >= unit else 0
        estimate = a + b - c
        pa, pb, pc = abs(estimate - a), abs(estimate - b), abs(estimate - c)
        if pa <= pb and pa <= pc:
            predictor = a
        elif pb <= pc:
            predictor = b
        else:
            predictor = c
        out[i] = (out[i] + predictor) & 0xff
    return out


def _samples(row, header):
    """The 8-bit samples of one unfiltered row (palette indexes stay indexes)."""
    if header.depth == 8:
        return bytes(row)
    if header.depth == 16:
        return bytes(row[0::2])
    depth = header.depth
    mask = (1 << depth) - 1
    per_byte = 8 // depth
    values = [(byte >> (8 - depth * (k + 1))) & mask for byte in row for k in range(per_byte)]
    values = values[:header.width]
    if header.colour_type == 0:
        return bytes(v * 255 // mask for v in values)
    return bytes(values)


def _expand_palette(indexes, palette, alpha):
    """Palette indexes -> RGB (or RGBA when the image has a tRNS chunk)."""
    colours = len(palette) // 3
    if any(index >= colours for index in indexes):
        raise PngError('PNG palette index out of range')
    if alpha is None:
        return b''.join(palette[3 * i:3 * i + 3] for i in indexes), 3
    alpha = alpha + b'\xff' * (colours - len(alpha))
    return b''.join(palette[3 * i:3 * i + 3] + alpha[i:i + 1] for i in indexes), 4


def decode_png(data):
    """Decode a PNG file.

    :param data: the whole file
    :type data: bytes
    :returns: the pixels
    :rtype: Image
    :raises PngError: if ``data`` is not a supported, intact PNG image
    """
    header = None
    palette = alpha = None
    compressed = []
    for kind, body in _chunks(bytes(data)):
        if kind == b'IHDR':
            header = _Header(body)
        elif header is None:
            raise PngError('PNG file does not start with IHDR')
        elif kind == b'PLTE':
            palette = body
        elif kind == b'tRNS' and header.colour_type == 3:
            alpha = body
        elif kind == b'IDAT':
            compressed.append(body)
    if header is None or not compressed:
        raise PngError('PNG file has no image data')
    if header.colour_type == 3 and not palette:
        raise PngError('palette PNG without PLTE chunk')
    raw = _inflate(b''.join(compressed), header.height * (header.row_bytes + 1))
    rows = _unfilter(raw, header)
    samples = b''.join(_samples(row, header) for row in rows)
    if header.colour_type == 3:
        pixels, channels = _expand_palette(samples, palette, alpha)
        return Image(header.width, header.height, channels, pixels)
    return Image(header.width, header.height, header.samples, samples)


def _inflate(compressed, expected):
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(compressed, expected)
    except zlib.error as error:
        raise PngError('corrupt PNG image data: %s' % error)
    if len(raw) < expected:
        raise PngError('truncated PNG image data')
    return raw


def _unfilter(raw, header):
    rows = []
    previous = bytes(header.row_bytes)
    stride = header.row_bytes + 1
    for y in range(header.height):
        line = raw[y * stride:(y + 1) * stride]
        previous = _unfilter_row(line[0], line[1:], previous, header.filter_unit)
        rows.append(previous)
    return rows


# -- encoding ---------------------------------------------------------------

def _chunk(kind, body):
    crc = zlib.crc32(kind + body) & 0xffffffff
    return struct.pack('>I', len(body)) + kind + body + struct.pack('>I', crc)


def encode_png(image, level=6):
    """Encode an image as a non-interlaced 8-bit PNG file.

    :param image: the pixels
    :type image: Image
    :param level: zlib compression level
    :returns: the file
    :rtype: bytes
    """
    header = struct.pack('>IIBBBBB', image.width, image.height, 8,
                         _COLOUR_TYPE_OF_CHANNELS[image.channels], 0, 0, 0)
    # filter type 0 on every row: simple, and thumbnails are small
    scanlines = b''.join(b'\x00' + image.row(y) for y in range(image.height))
    return (SIGNATURE + _chunk(b'IHDR', header)
            + _chunk(b'IDAT', zlib.compress(scanlines, level)) + _chunk(b'IEND', b''))


# -- resampling ---------------------------------------------------------------

def _taps(source, target):
    """For each target index, the ``(source index, weight)`` pairs along one axis.

    Shrinking averages the covered source area (box filter); enlarging
    interpolates between the two nearest source samples (bilinear).
    """
    scale = source / target
    taps = []
    for index in range(target):
        if scale >= 1:
            taps.append(_box_taps(index * scale, (index + 1) * scale, source))
        else:
            taps.append(_linear_taps((index + 0.5) * scale - 0.5, source))
    return taps


def _box_taps(start, end, source):
    taps = []
    for position in range(int(start), min(source, int(-(-end // 1)))):
        cover = min(end, position + 1) - max(start, position)
        if cover > 0:
            taps.append((position, cover / (end - start)))
    return taps


def _linear_taps(centre, source):
    centre = min(max(centre, 0.0), source - 1.0)
    left = int(centre)
    fraction = centre - left
    if fraction == 0 or left + 1 >= source:
        return [(left, 1.0)]
    return [(left, 1 - fraction), (left + 1, fraction)]


def _gather_plan(taps, channels):
    """Per tap rank, the source sample index and weight of every target sample.

    Resampling then runs as whole-row ``map`` operations (C loops) instead of
    one Python loop iteration per sample and tap.
    """
    ranks = max(len(pairs) for pairs in taps)
    plan = []
    for rank in range(ranks):
        indexes, weights = [], []
        for pairs in taps:
            index, weight = pairs[rank] if rank < len(pairs) else (0, 0.0)
            indexes.extend(index * channels + channel for channel in range(channels))
            weights.extend([weight] * channels)
        plan.append((indexes, weights))
    return plan


def _weighted_sum(lines_and_weights):
    """Element-wise sum of ``line * weight`` over ``(line, weights)`` pairs."""
    total = None
    for line, weights in lines_and_weights:
        products = map(operator.mul, line, weights)
        total = list(products) if total is None else list(map(operator.add, total, products))
    return total


def resize(image, width, height):
    """Scale an image to ``width`` x ``height`` (box filter down, bilinear up).

    :param image: the pixels
    :type image: Image
    :rtype: Image
    """
    if width < 1 or height < 1:
        raise ValueError('target size must be at least 1x1')
    plan = _gather_plan(_taps(image.width, width), image.channels)
    rows = [_weighted_sum((map(row.__getitem__, indexes), weights) for indexes, weights in plan)
            for row in map(image.row, range(image.height))]
    out = bytearray()
    for pairs in _taps(image.height, height):
        line = _weighted_sum((rows[index], itertools.repeat(weight)) for index, weight in pairs)
        out.extend(min(255, max(0, int(value + 0.5))) for value in line)
    return Image(width, height, image.channels, out)


def crop(image, left, top, width, height):
    """The ``width`` x ``height`` part of an image whose top-left corner is ``(left, top)``.

    :type image: Image
    :rtype: Image
    """
    if left < 0 or top < 0 or left + width > image.width or top + height > image.height:
        raise ValueError('crop box outside the image')
    channels = image.channels
    rows = (image.row(y)[left * channels:(left + width) * channels]
            for y in range(top, top + height))
    return Image(width, height, channels, b''.join(rows))


def scale_to_width(image, width):
    """Scale an image to ``width`` columns, keeping its aspect ratio.

    :type image: Image
    :rtype: Image
    """
    height = max(1, int(round(image.height * width / image.width)))
    return resize(image, width, height)


def cover(image, width, height):
    """Scale an image to fill ``width`` x ``height`` and cut the overflow evenly.

    This is how the Midas thumbnailcreator makes its square small thumbnails.

    :type image: Image
    :rtype: Image
    """
    scale = max(width / image.width, height / image.height)
    scaled_width = max(width, int(round(image.width * scale)))
    scaled_height = max(height, int(round(image.height * scale)))
    scaled = resize(image, scaled_width, scaled_height)
    return crop(scaled, (scaled_width - width) // 2, (scaled_height - height) // 2,
                width, height)
