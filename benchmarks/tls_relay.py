"""A TLS-terminating TCP relay on 127.0.0.1: TLS from the client, plain TCP to the target.

Put behind ``delay_proxy.py`` (client -> delay_proxy -> tls_relay -> server), the TLS
handshake crosses the delayed link as it would over a real one. Run by
``bench_scale.py`` as a child process::

    python benchmarks/tls_relay.py TARGET_HOST TARGET_PORT CERT_FILE KEY_FILE [1.2]

With ``1.2`` it offers TLS 1.2 at most (a full handshake takes two round trips, not one).

It prints the port it listens on as its first stdout line and relays until interrupted.
"""

import asyncio
import socket
import ssl
import sys

CHUNK = 256 * 1024


async def pump(reader, writer):
    try:
        while True:
            data = await reader.read(CHUNK)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        try:
            if writer.can_write_eof():
                writer.write_eof()
            else:
                writer.close()
        except (OSError, RuntimeError):
            pass


async def relay(target, client_reader, client_writer):
    try:
        upstream_reader, upstream_writer = await asyncio.open_connection(*target)
    except OSError:
        client_writer.close()
        return
    for writer in (client_writer, upstream_writer):
        sock = writer.get_extra_info('socket')
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        await asyncio.gather(pump(client_reader, upstream_writer),
                             pump(upstream_reader, client_writer))
    except asyncio.CancelledError:
        pass  # the relay is stopping
    for writer in (client_writer, upstream_writer):
        writer.close()


async def serve(target, context):
    server = await asyncio.start_server(
        lambda reader, writer: relay(target, reader, writer), '127.0.0.1', 0, ssl=context)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def main(argv):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(argv[2], argv[3])
    if argv[4:] == ['1.2']:
        context.maximum_version = ssl.TLSVersion.TLSv1_2
    try:
        asyncio.run(serve((argv[0], int(argv[1])), context))
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
