"""Unit tests of the PNG decoder/encoder and resampling behind the thumbnails."""

import struct
import zlib

import pytest

from pydas.testing import png


def _chunk(kind, body):
    return (struct.pack('>I', len(body)) + kind + body
            + struct.pack('>I', zlib.crc32(kind + body) & 0xffffffff))


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _filter(kind, row, previous, unit):
    """Reference filter (PNG spec section 9), written independently of the decoder."""
    out = bytearray()
    for i, value in enumerate(row):
        a = row[i - unit] if i >= unit else 0
        b = previous[i]
        c = previous[i - unit] if i >= unit else 0
        predictor = [0, a, b, (a + b) // 2, _paeth(a, b, c)][kind]
        out.append((value - predictor) & 0xff)
    return bytes(out)


def _make_png(width, height, colour_type, depth, rows, filters=(0,), extra=(), interlace=0):
    """A PNG file from raw (packed) scanlines, each filtered with the next filter type."""
    samples = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour_type]
    unit = max(1, samples * depth // 8)
    previous = bytes(len(rows[0]))
    data = b''
    for y, row in enumerate(rows):
        kind = filters[y % len(filters)]
        data += bytes([kind]) + _filter(kind, row, previous, unit)
        previous = row
    header = struct.pack('>IIBBBBB', width, height, depth, colour_type, 0, 0, interlace)
    return (png.SIGNATURE + _chunk(b'IHDR', header) + b''.join(extra)
            + _chunk(b'IDAT', zlib.compress(data)) + _chunk(b'IEND', b''))


def _rgb_rows(width, height):
    return [bytes((x * 37 + y * 11 + c * 5) & 0xff for x in range(width) for c in range(3))
            for y in range(height)]


@pytest.mark.parametrize('filters', [(0,), (1,), (2,), (3,), (4,), (0, 1, 2, 3, 4)])
def test_decode_rgb_with_every_filter(filters):
    rows = _rgb_rows(7, 6)
    image = png.decode_png(_make_png(7, 6, 2, 8, rows, filters))
    assert (image.width, image.height, image.channels) == (7, 6, 3)
    assert image.pixels == b''.join(rows)


def test_decode_grey_alpha_and_rgba():
    grey_alpha = [bytes([10, 255, 20, 128]), bytes([30, 0, 40, 64])]
    image = png.decode_png(_make_png(2, 2, 4, 8, grey_alpha, (4,)))
    assert image.channels == 2 and image.pixels == b''.join(grey_alpha)
    rgba = [bytes(range(16)), bytes(range(16, 32))]
    image = png.decode_png(_make_png(4, 2, 6, 8, rgba, (1, 3)))
    assert image.channels == 4 and image.pixels == b''.join(rgba)


def test_decode_sixteen_bit_keeps_high_bytes():
    row = struct.pack('>3H', 0x1234, 0xABCD, 0xFF00)
    image = png.decode_png(_make_png(1, 1, 2, 16, [row], (4,)))
    assert image.pixels == bytes([0x12, 0xAB, 0xFF])


@pytest.mark.parametrize('depth, packed, expected', [
    (1, [0b10100000], [255, 0, 255]),
    (2, [0b00011011], [0, 85, 170, 255]),
    (4, [0x0F, 0x80], [0, 255, 136]),
])
def test_decode_low_bit_depth_grey(depth, packed, expected):
    image = png.decode_png(_make_png(len(expected), 1, 0, depth, [bytes(packed)]))
    assert list(image.pixels) == expected


def test_decode_palette_with_transparency():
    palette = _chunk(b'PLTE', bytes([255, 0, 0, 0, 255, 0, 0, 0, 255]))
    alpha = _chunk(b'tRNS', bytes([0, 128]))
    image = png.decode_png(_make_png(3, 1, 3, 2, [bytes([0b00011000])], extra=(palette, alpha)))
    assert image.channels == 4
    assert list(image.pixels) == [255, 0, 0, 0, 0, 255, 0, 128, 0, 0, 255, 255]
    opaque = png.decode_png(_make_png(2, 1, 3, 8, [bytes([2, 1])], extra=(palette,)))
    assert opaque.channels == 3 and list(opaque.pixels) == [0, 0, 255, 0, 255, 0]


@pytest.mark.parametrize('data, message', [
    (b'GIF89a....', 'signature'),
    (_make_png(1, 1, 0, 8, [b'\x00'], interlace=1), 'interlaced'),
    (_make_png(1, 1, 0, 8, [b'\x00'])[:-20], 'truncated'),
    (_make_png(1, 1, 0, 8, [b'\x00']).replace(b'IHDR', b'IHDr'), 'CRC'),
    (_make_png(1, 1, 2, 4, [b'\x00\x00']), 'bit depth'),
])
def test_decode_refuses_what_it_cannot_read(data, message):
    with pytest.raises(png.PngError, match=message):
        png.decode_png(data)


@pytest.mark.parametrize('channels', [1, 2, 3, 4])
def test_encode_round_trip(channels):
    pixels = bytes((i * 7) & 0xff for i in range(5 * 3 * channels))
    data = png.encode_png(png.Image(5, 3, channels, pixels))
    assert png.is_png(data)
    image = png.decode_png(data)
    assert (image.width, image.height, image.channels, image.pixels) == (5, 3, channels, pixels)


def test_resize_averages_when_shrinking_and_interpolates_when_growing():
    shrunk = png.resize(png.Image(4, 2, 1, bytes([0, 100, 200, 50, 0, 100, 200, 50])), 2, 1)
    assert list(shrunk.pixels) == [50, 125]
    grown = png.resize(png.Image(2, 1, 1, bytes([0, 100])), 4, 1)
    assert list(grown.pixels) == [0, 25, 75, 100]
    uniform = png.resize(png.Image(9, 7, 3, bytes([10, 20, 30]) * 63), 4, 3)
    assert uniform.pixels == bytes([10, 20, 30]) * 12


def test_scale_to_width_keeps_aspect_ratio_and_cover_crops_to_square():
    image = png.Image(64, 48, 3, bytes(64 * 48 * 3))
    assert (png.scale_to_width(image, 32).width, png.scale_to_width(image, 32).height) == (32, 24)
    # left half black, right half white: the centred square crop keeps both halves
    halves = png.Image(40, 20, 1, (bytes(20) + b'\xff' * 20) * 20)
    square = png.cover(halves, 10, 10)
    assert (square.width, square.height) == (10, 10)
    assert square.row(0)[:4] == bytes(4) and square.row(0)[-4:] == b'\xff' * 4


def test_crop_outside_the_image_is_refused():
    with pytest.raises(ValueError):
        png.crop(png.Image(2, 2, 1, bytes(4)), 1, 1, 2, 2)
