"""The ``pydas`` command: log in to a Midas server, list, upload and download.

Secrets never come from the command line (they would show in ``ps`` and in
the shell history): a password or an API key is read from a prompt without
echo, and an API key may also come from the ``MIDAS_API_KEY`` environment
variable. Failures are reported as one line on stderr with exit status 1
(``--debug`` shows the traceback); usage errors exit with status 2. Ctrl-C
stops a transfer within seconds, prints its summary and exits with status
130; a second Ctrl-C exits at once.
"""

import argparse
import contextlib
import getpass
import json
import logging
import os
import signal
import sys
import threading
import time

import pydas
from pydas import config
from pydas import progressbar
from pydas import serverpaths
from pydas.exceptions import PydasException, ResponseError, TransferError, TransferInterrupted
from pydas.session import Client
from pydas.transfer import TransferResult, finish
from pydas.transport import TLS_ADVICE
from pydas.workers import DEFAULT_JOBS

ENV_URL = 'MIDAS_URL'
ENV_EMAIL = 'MIDAS_EMAIL'
ENV_API_KEY = 'MIDAS_API_KEY'

#: Advice naming parameters of the Python API (or the server's), and what to say instead.
CLI_ADVICE = {
    TLS_ADVICE: 'if the server is trusted, set REQUESTS_CA_BUNDLE to the path of its CA '
                'certificate',
    'Pass reuseExisting to reuse it.': 'Leave out --create-new to add to it.',
}

#: Exit status after Ctrl-C (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED = 130


class CommandError(Exception):
    """A failure reported to the user as one line, with exit status 1."""


# Prompts ---------------------------------------------------------------------

def prompt(label):
    """Ask for a value on stderr and read one line from stdin.

    :param label: the question, e.g. ``'Email: '``
    :type label: string
    :returns: the answer without its line ending
    :rtype: string
    :raises CommandError: at end of input
    """
    sys.stderr.write(label)
    sys.stderr.flush()
    line = sys.stdin.readline()
    if not sys.stdin.isatty():
        sys.stderr.write('\n')  # a terminal would have echoed the end of the line
    if not line:
        raise CommandError('no answer to "{0}" (end of input)'.format(label.strip(': ')))
    return line.rstrip('\r\n')


def prompt_secret(label):
    """Ask for a secret without echoing it.

    :func:`getpass.getpass` reads the terminal itself, so when stdin is not a
    terminal (a pipe in a script or a test) the secret is read from stdin,
    where nothing echoes it either.

    :param label: the question, e.g. ``'Password: '``
    :type label: string
    :returns: the secret
    :rtype: string
    """
    if sys.stdin.isatty():
        return getpass.getpass(label, stream=sys.stderr)
    return prompt(label)


# Credentials -----------------------------------------------------------------

def saved_settings():
    """Return the settings of ``pydas login``, overridden by the environment.

    :returns: the keys ``url``, ``email`` and ``api_key`` that are known
    :rtype: dict[string, string]
    """
    settings = config.load()
    for key, variable in (('url', ENV_URL), ('email', ENV_EMAIL), ('api_key', ENV_API_KEY)):
        if os.environ.get(variable):
            settings[key] = os.environ[variable]
    return settings


def require_credentials():
    """Return the saved URL, e-mail and API key, or fail if any is missing.

    :rtype: dict[string, string]
    :raises CommandError: when not logged in
    """
    settings = saved_settings()
    missing = [key for key in config.KEYS if not settings.get(key)]
    if missing:
        raise CommandError('not logged in (no {0}): run "pydas login" or set {1}, {2} and {3}'
                           .format(', '.join(missing), ENV_URL, ENV_EMAIL, ENV_API_KEY))
    return settings


def ask_one_time_password():
    """Ask for the one-time password of a user with a second factor."""
    return prompt_secret('One-time password: ')


def log_in(client, email, api_key):
    """Log ``client`` in with an API key, asking for a one-time password if needed.

    :raises CommandError: if the server refuses the credentials
    """
    try:
        client.login(email=email, api_key=api_key, ask_one_time_password=ask_one_time_password)
    except ResponseError as error:
        raise refused(client.communicator, email, error) from error


def refused(communicator, email, error):
    """Return the error of a login the server answered with a failure."""
    return CommandError('login refused by {0} for {1}: {2}'.format(communicator.url, email,
                                                                   one_line(error)))


def open_client(settings):
    """Return a logged-in :class:`pydas.session.Client` for the saved credentials."""
    client = Client(url=settings['url'])
    log_in(client, settings['email'], settings['api_key'])
    return client


# Commands --------------------------------------------------------------------

def command_login(args):
    """Ask for the server, e-mail and password (or API key), check them, save them."""
    environment = saved_settings()
    url = args.url or environment.get('url') or prompt('Server URL: ')
    if not url.startswith(('http://', 'https://')):
        raise CommandError('{0}: the server URL must start with https:// or http://'.format(url))
    email = args.email or environment.get('email') or prompt('Email: ')
    with Client(url=url) as client:
        url = client.communicator.url
        client.communicator.get_server_version()  # a wrong URL fails before any secret is asked
        if os.environ.get(ENV_API_KEY):
            api_key = os.environ[ENV_API_KEY]
        elif args.api_key:
            api_key = prompt_secret('API key: ')
        else:
            api_key = default_api_key(client.communicator, email, prompt_secret('Password: '))
        log_in(client, email, api_key)
    path = config.save({'url': url, 'email': email, 'api_key': api_key})
    print('Logged in to {0} as {1}; settings saved in {2}'.format(url, email, path))


def default_api_key(communicator, email, password):
    """Return the user's default API key, proving the password."""
    try:
        return communicator.get_default_api_key(email, password)
    except ResponseError as error:
        raise refused(communicator, email, error) from error


def command_logout(args):
    """Forget the saved credentials."""
    if config.forget():
        print('Logged out: removed {0}'.format(config.config_path()))
    else:
        print('Not logged in: nothing to forget')


def command_info(args):
    """Show the server version, its enabled modules and who you are."""
    with open_client(require_credentials()) as client:
        communicator = client.communicator
        user = communicator.get_user_by_email(client.email)
        info = {
            'url': communicator.url,
            'version': communicator.get_server_version(),
            'modules': sorted(communicator.list_modules()),
            'user': {'email': user['email'], 'user_id': user['user_id'],
                     'name': '{0} {1}'.format(user['firstname'], user['lastname']),
                     'admin': user['admin'] == '1'},
            'folders': [folder['name']
                        for folder in communicator.list_user_folders(client.token)],
        }
    if args.json:
        print(json.dumps(info))
        return
    print('Server:  {0} (Midas {1})'.format(info['url'], info['version']))
    print('Modules: {0}'.format(', '.join(info['modules']) or '(none)'))
    print('User:    {0} <{1}>, id {2}{3}'.format(
        info['user']['name'], info['user']['email'], info['user']['user_id'],
        ', site administrator' if info['user']['admin'] else ''))
    print('Folders: {0}'.format(', '.join(info['folders'])))


def command_ls(args):
    """List the folders and items of a server folder, like ``ls -l``."""
    with open_client(require_credentials()) as client:
        entries = list_entries(client, args.server_path)
    if args.json:
        print(json.dumps(entries))
        return
    for entry in entries:
        print(format_entry(entry, human=args.human_readable))


def list_entries(client, server_path):
    """Return the children of ``server_path`` (your home when None) as plain dicts.

    The path of an item lists the item itself.

    :rtype: list[dict]
    """
    communicator, token = client.communicator, client.token
    if not server_path:
        return [entry_of('folder', folder) for folder in communicator.list_user_folders(token)]
    resource = resolve_path(client, server_path)
    if resource.kind == 'item':
        return [entry_of('item', communicator.item_get(token, resource.id))]
    children = communicator.folder_children(token, resource.id)
    return ([entry_of('folder', folder) for folder in children['folders']] +
            [entry_of('item', item) for item in children['items']])


def resolve_path(client, server_path):
    """Return the folder or item ``server_path`` names; relative paths start in your home.

    ``Private/scans`` is ``/users/<Firstname>_<Lastname>/Private/scans``.

    :rtype: pydas.serverpaths.Resource
    """
    if server_path.startswith('/'):
        return serverpaths.resolve(client, server_path)
    home_id = client.communicator.get_user_by_email(client.email)['folder_id']
    return serverpaths.resolve_relative(client, home_id, server_path)


def destination(client, server_path):
    """Return the folder an upload goes to: a top folder name of yours, or a path.

    :rtype: pydas.serverpaths.Resource
    """
    if '/' in server_path:
        return resolve_path(client, server_path)
    return serverpaths.Resource(
        'folder', serverpaths.resolve_destination(client, server_path), server_path)


def entry_of(kind, resource):
    """Return the listing entry of a folder or an item."""
    size = int(resource['sizebytes']) if kind == 'item' and resource.get('sizebytes') else None
    return {'type': kind, 'id': int(resource[kind + '_id']), 'name': resource['name'],
            'size': size, 'updated': resource.get('date_update', '')}


def format_entry(entry, human=False):
    """Return one ``ls -l`` style line: type, size (in bytes, or for people), date, name."""
    is_folder = entry['type'] == 'folder'
    size = entry['size']
    if size is None:
        size = '-'
    elif human:
        size = progressbar.human_size(size)
    return '{0} {1:>12} {2:19} {3}{4}'.format(
        'd' if is_folder else '-', size, entry['updated'], entry['name'],
        '/' if is_folder else '')


def command_upload(args):
    """Upload local files and folders, then summarise."""
    if not args.dest:
        raise CommandError('--dest is empty: give a folder, e.g. Private or Private/scans')
    missing = [local for local in args.local if not os.path.lexists(local)]
    if missing:
        raise CommandError('{0}: no such file or directory'.format(', '.join(missing)))
    with open_client(require_credentials()) as client:
        run_transfer('upload', args, lambda progress: upload_each(client, args, progress))


def upload_each(client, args, progress):
    """Upload every LOCAL argument in turn; return the combined result.

    :raises pydas.exceptions.TransferError: if some files failed (the others are uploaded)
    """
    combined = TransferResult()
    folder = destination(client, args.dest)
    for local in args.local:
        try:
            # An existing path is taken literally (the shell expanded any pattern already).
            result = client.upload(local, destination=folder,
                                   leaf_folders_as_items=args.leaf_folders_as_items,
                                   reuse_existing=args.reuse_existing, jobs=args.jobs,
                                   progress=progress)
        except TransferError as error:
            result = error.result
        except TransferInterrupted as interrupted:
            combined.include(interrupted.result)
            raise TransferInterrupted(combined) from None
        combined.include(result)
    return finish(combined)


def command_download(args):
    """Download a server folder or item, then summarise.

    Unlike the API's default, existing directories are written into: a download
    into a directory holding part or all of the tree resumes what is partial and
    leaves identical files alone.
    """
    if os.path.lexists(args.local_dir) and not os.path.isdir(args.local_dir):
        raise CommandError('LOCAL_DIR {0} exists and is not a directory'.format(args.local_dir))
    with open_client(require_credentials()) as client:
        client.allow_existing_download_paths = True
        run_transfer('download', args, lambda progress: client.download(
            resolve_path(client, args.server_path), args.local_dir, jobs=args.jobs,
            progress=progress))


def run_transfer(kind, args, transfer):
    """Run ``transfer(progress)`` with a progress display, then print its summary.

    :raises CommandError: if any file failed (after the summary)
    :raises pydas.exceptions.TransferInterrupted: on Ctrl-C (after the summary)
    """
    started = time.monotonic()
    try:
        with second_interrupt_exits(), \
                progressbar.reporter(sys.stderr, quiet=args.quiet) as progress:
            result = transfer(progress)
    except TransferInterrupted as interrupted:
        print_summary(kind, interrupted.result, started)
        raise
    except TransferError as error:
        print_summary(kind, error.result, started)
        raise CommandError('{0} file(s) failed (listed above)'.format(len(error.failures)))
    print_summary(kind, result, started)


def print_summary(kind, result, started):
    """Print the summary of a transfer begun at ``started``, then what it left out or
    failed, one line each."""
    print(progressbar.summary(kind, result, time.monotonic() - started))
    for skipped in result.skipped:
        print('  left out: {0}'.format(one_line(skipped)))
    for failure in result.failed:
        print('  failed: {0}'.format(one_line(failure)))


@contextlib.contextmanager
def second_interrupt_exits():
    """Run the ``with`` block with a first Ctrl-C raising KeyboardInterrupt, as usual (the
    transfer stops and summarises), and a second one ending the process at once."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only
        return
    interrupts = []

    def on_interrupt(signum, frame):
        if interrupts:
            os.write(2, b'\npydas: interrupted again; exiting now\n')
            os._exit(EXIT_INTERRUPTED)
        interrupts.append(signum)
        raise KeyboardInterrupt()
    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def command_serve(args):
    """Run the embedded Midas server (``python -m pydas.testing``)."""
    # Imported here, as in command_demo: other commands need no server code.
    from pydas.testing.__main__ import main as serve
    return serve(args.server_args, prog='pydas serve')


def command_demo(args):
    """Run the round trip on an embedded server and verify it."""
    from pydas import demo
    started = time.monotonic()
    if not demo.run(sys.stdout, sys.stderr, quiet=args.quiet):
        raise CommandError('the demo round trip did not verify')
    print('Demo finished in {0:.1f} s'.format(time.monotonic() - started))


# Parser ----------------------------------------------------------------------

def build_parser():
    """Return the argument parser of the ``pydas`` command."""
    debug_help = 'log HTTP calls (secrets redacted) and show tracebacks'
    # --debug works before and after the command; the command's parser must
    # not reset it to False when it is given before.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument('--debug', action='store_true', default=argparse.SUPPRESS,
                        help=debug_help)
    parser = argparse.ArgumentParser(
        prog='pydas',
        description='Transfer files to and from a Midas Server 3 over its JSON web API.',
        epilog='Credentials come from "pydas login" or from the environment variables '
               '{0}, {1} and {2}.'.format(ENV_URL, ENV_EMAIL, ENV_API_KEY))
    parser.add_argument('--debug', action='store_true', help=debug_help)
    parser.add_argument('--version', action='version',
                        version='pydas {0}'.format(pydas.__version__))
    commands = parser.add_subparsers(dest='command', metavar='COMMAND', required=True)

    def add(name, function, help_text, **kwargs):
        sub = commands.add_parser(name, parents=[common], help=help_text,
                                  description=help_text, **kwargs)
        sub.set_defaults(function=function)
        return sub

    login = add('login', command_login, 'check and remember your server, e-mail and API key')
    login.add_argument('--url', help='server URL (default: $MIDAS_URL or a prompt)')
    login.add_argument('--email', help='your e-mail address (default: $MIDAS_EMAIL or a prompt)')
    login.add_argument('--api-key', action='store_true',
                       help='give an API key at the prompt instead of your password')
    add('logout', command_logout, 'forget the remembered credentials')
    info = add('info', command_info, 'show the server version, its modules and who you are')
    info.add_argument('--json', action='store_true', help='print one JSON object')
    # -h is ls's --human-readable, as in ls -lh.
    ls = add('ls', command_ls, 'list folders and items with their sizes', add_help=False)
    ls.add_argument('server_path', nargs='?', metavar='SERVER_PATH',
                    help='the folder to list (default: your home): Private/dir, '
                         '/users/<First>_<Last>/... or /communities/<name>/...')
    ls.add_argument('-h', '--human-readable', action='store_true',
                    help='sizes for people (4.0 MB) instead of bytes')
    ls.add_argument('--json', action='store_true', help='print a JSON list (sizes in bytes)')
    ls.add_argument('--help', action='help', help='show this help message and exit')

    upload = add('upload', command_upload, 'upload files and folders')
    upload.add_argument('local', nargs='+', metavar='LOCAL', help='files or folders to send')
    upload.add_argument('--dest', default='Private', metavar='SERVER_PATH',
                        help='destination folder (default: your Private folder)')
    upload.add_argument('--leaf-folders-as-items', action='store_true',
                        help='upload each folder without subfolders as one item')
    upload.add_argument('--reuse-existing', action='store_true', default=True,
                        help='add to folders and items of the same name: identical files '
                             'are skipped, changed ones become new revisions (the default)')
    upload.add_argument('--create-new', action='store_false', dest='reuse_existing',
                        help='create new folders and items even where ones of the same '
                             'name exist (what the Python API does by default)')
    download = add('download', command_download, 'download a folder or an item')
    download.add_argument('server_path', metavar='SERVER_PATH',
                          help='the folder or item to download: Private/dir, '
                               '/users/<First>_<Last>/... or /communities/<name>/...')
    download.add_argument('local_dir', nargs='?', default='.', metavar='LOCAL_DIR',
                          help='directory to download into (default: the current one)')
    for transfer in (upload, download):
        transfer.add_argument('--jobs', type=positive_int, default=DEFAULT_JOBS, metavar='N',
                              help='files transferred at once at most (default: {0}; it starts '
                              'with fewer and takes more while the server keeps up)'.format(
                                  DEFAULT_JOBS))
        transfer.add_argument('--quiet', action='store_true', help='no progress output')

    # Every other option goes to the server (see main), so --help is the server's.
    add('serve', command_serve, 'run the embedded Midas server (options of python -m '
        'pydas.testing)', add_help=False)
    demo = add('demo', command_demo, 'round trip of a sample dataset through an embedded server')
    demo.add_argument('--quiet', action='store_true', help='no progress bar')
    return parser


def positive_int(text):
    """Parse a strictly positive integer option."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError('must be at least 1')
    return value


def main(argv=None):
    """Run the ``pydas`` command.

    :param argv: the arguments, without the program name (default: ``sys.argv[1:]``)
    :type argv: None | list[string]
    :returns: the exit status: 0 on success, 1 on failure, 2 on a usage error, 130 after
        Ctrl-C
    :rtype: int
    """
    parser = build_parser()
    args, server_args = parser.parse_known_args(argv)
    if server_args and args.command != 'serve':
        parser.error('unrecognized arguments: {0}'.format(' '.join(server_args)))
    args.server_args = server_args
    if args.debug:
        logging.basicConfig(level=logging.DEBUG, format='%(name)s: %(message)s')
    else:
        # The command reports failures itself, in its summary and error line.
        logging.getLogger('pydas').addHandler(logging.NullHandler())
    try:
        return args.function(args) or 0
    except KeyboardInterrupt:
        if args.debug:
            raise
        sys.stderr.write('pydas: interrupted\n')
        return EXIT_INTERRUPTED
    except (CommandError, PydasException, OSError, ValueError) as error:
        if args.debug:
            raise
        sys.stderr.write('pydas: error: {0}\n'.format(one_line(error)))
        return 1


def one_line(error):
    """Return the message of ``error`` on one line, naming its type if it is empty.

    Advice naming a parameter of the Python API becomes advice for the command.
    """
    message = str(error)
    for api_advice, cli_advice in CLI_ADVICE.items():
        message = message.replace(api_advice, cli_advice)
    message = ' '.join(message.split())
    return message or type(error).__name__


if __name__ == '__main__':
    sys.exit(main())
