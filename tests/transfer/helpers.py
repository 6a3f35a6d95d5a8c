"""Helpers of the transfer tests: local trees and recorded calls."""

import os


def write_tree(root, files):
    """Create ``files`` (relative path -> bytes, or None for an empty directory)."""
    for relative, content in files.items():
        path = os.path.join(root, *relative.split('/'))
        if content is None:
            os.makedirs(path, exist_ok=True)
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as stream:
            stream.write(content)


def read_tree(root):
    """Return relative path -> bytes of every file, None for every empty directory."""
    found = {}
    for directory, folders, files in os.walk(root):
        relative_dir = os.path.relpath(directory, root).replace(os.sep, '/')
        prefix = '' if relative_dir == '.' else relative_dir + '/'
        if not folders and not files and prefix:
            found[prefix.rstrip('/')] = None
        for name in files:
            with open(os.path.join(directory, name), 'rb') as stream:
                found[prefix + name] = stream.read()
    return found


def bitstream_gets(server):
    """The GETs of bitstreams from the download controller (``/download/?bitstream=``)."""
    return [call for call in server.calls
            if call.method is None and 'bitstream' in call.query]


def offset_of(call):
    """The ``offset`` a bitstream download asked for."""
    return int(call.query.get('offset') or call.form.get('offset') or 0)
