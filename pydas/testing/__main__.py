"""``python -m pydas.testing``: run the embedded Midas server until interrupted."""

import argparse
import json
import signal
import sys
import threading

from pydas.testing.server import MidasServer


def _positive(text):
    number = int(text)
    if number < 1:
        raise argparse.ArgumentTypeError('must be at least 1')
    return number


def parse_args(argv, prog='python -m pydas.testing'):
    """Parse the command line (``prog`` names the command in ``--help``)."""
    parser = argparse.ArgumentParser(prog=prog,
                                     description='Run an embedded Midas Server 3.4.2.')
    parser.add_argument('--host', default='127.0.0.1',
                        help='address to bind (default: %(default)s)')
    parser.add_argument('--port', type=int, default=0,
                        help='port (default: %(default)s, any free port)')
    parser.add_argument('--data-dir', default=None,
                        help='keep the state in this directory (default: temporary)')
    parser.add_argument('--workers', type=_positive, default=None, metavar='W',
                        help='process at most W requests at once, the others wait '
                             '(default 32)')
    parser.add_argument('--json', action='store_true',
                        help='print one JSON line with url, email, password, api_key')
    return parser.parse_args(argv)


def main(argv=None, prog='python -m pydas.testing'):
    """Serve until SIGINT or SIGTERM; return the exit status (0).

    :param argv: the arguments (default: ``sys.argv[1:]``)
    :param prog: the command's name in its usage and ``--help``
    """
    args = parse_args(sys.argv[1:] if argv is None else argv, prog)
    stopping = threading.Event()
    previous = {number: signal.signal(number, lambda *_: stopping.set())
                for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        with MidasServer(data_dir=args.data_dir, host=args.host, port=args.port,
                         workers=args.workers) as server:
            details = {'url': server.url, 'email': server.admin_email,
                       'password': server.admin_password, 'api_key': server.admin_api_key}
            if args.json:
                sys.stdout.write(json.dumps(details) + '\n')
            else:
                sys.stdout.write('Midas server at {url}\nadmin e-mail: {email}\n'
                                 'admin password: {password}\nadmin API key: {api_key}\n'
                                 'fault control: {url}/__pydas__/faults\n'
                                 'Press Ctrl+C to stop.\n'.format(**details))
            sys.stdout.flush()
            while not stopping.wait(0.5):
                pass
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    return 0


if __name__ == '__main__':
    sys.exit(main())
