"""Core API area ``system``: version, info, the module and method lists."""

import re

from pydas.testing import methodhelp, registry
from pydas.testing.registry import api_method

VERSION = '3.4.2'
TITLE = 'Midas Platform - Digital Archiving System'
# Display order of modules.list (the order of the recorded server's module table).
MODULE_ORDER = ('thumbnailcreator', 'dicomextractor', 'solr', 'mfa', 'tracker', 'batchmake')
CORE_RESOURCES = ('/item', '/itemrevision', '/group', '/system', '/bitstream', '/community',
                  '/user', '/folder')
# Built into the dispatcher, not a documented method: never listed by methods.list.
UNLISTED = ('midas.system.listMethods',)
MODULE_RESOURCES = {
    'thumbnailcreator': ('/thumbnailcreator/item',),
    'dicomextractor': ('/dicomextractor/item',),
    'solr': ('/solr/search',),
    'tracker': ('/tracker/aggregatemetricspec', '/tracker/submission', '/tracker/scalar',
                '/tracker/trend', '/tracker/producer', '/tracker/aggregatemetricnotification'),
}


def enabled_modules(server):
    """The names ``midas.modules.list`` reports, in the server's order."""
    return ['api', 'scheduler'] + [name for name in MODULE_ORDER if name in server.modules]


@api_method('midas.version')
def version(call):
    """Get the server version.

    :returns: Server version in the form <major>.<minor>.<patch>
    """
    return {'version': VERSION}


@api_method('midas.modules.list')
def modules_list(call):
    """Name the modules this server has switched on.

    :returns: ``{'modules': [...]}``, core pseudo-modules first
    """
    return {'modules': enabled_modules(call.server)}


@api_method('midas.methods.list')
def methods_list(call):
    """List all available web api methods on the server.

    :returns: List of api method names and their corresponding documentation
    """
    return {'methods': [{'name': name.split('.', 1)[1], 'help': help_of(name)}
                        for name in listed_methods(call.server.modules)]}


@api_method('midas.info')
def info(call):
    """Get the server information including version, modules enabled, and available web
    api methods (names do not include the global prefix).

    :returns: Server information
    """
    resources = list(CORE_RESOURCES)
    for module in MODULE_ORDER:
        if module in call.server.modules:
            resources.extend(MODULE_RESOURCES.get(module, ()))
    return {'version': VERSION, 'name': TITLE, 'description': '',
            'modules': enabled_modules(call.server),
            'resources': {key: call.base_url + '/rest' + key for key in resources}}


@api_method('midas.system.listMethods')
def list_methods(call):
    """List the registered methods (a Midas bug: only the requested one is registered).

    :returns: the list of method names
    """
    return ['midas.system.listMethods']


def listed_methods(modules):
    """The canonical names ``midas.methods.list`` lists with these modules, in order.

    The recorded methods come first in the recorded order; methods the recorded server
    did not have (batchmake, the legacy tracker) follow in registration order.
    """
    available = [name for name in registry.method_names(modules) if name not in UNLISTED]
    recorded = [name for name in methodhelp.RECORDED_NAMES if name in available]
    return recorded + [name for name in available if name not in recorded]


def help_of(name):
    """The ``help`` object of a method: as recorded, or built from its handler's docstring."""
    recorded = methodhelp.recorded_help(name)
    return recorded if recorded is not None else method_help(registry.CANONICAL[name][1])


def method_help(handler):
    """The ``help`` object of ``midas.methods.list`` built from a handler's docstring."""
    text = (handler.__doc__ or '').strip()
    description = ' '.join(text.split('\n\n')[0].split())
    params = {name: ' '.join(doc.split())
              for name, doc in re.findall(r':param (\w+): (.*?)(?=\n\s*:|\Z)', text, re.S)}
    returns = re.search(r':returns: (.*?)(?=\n\s*:|\Z)', text, re.S)
    return {'params': params or [], 'example': [],
            'return': ' '.join(returns.group(1).split()) if returns else '',
            'description': description}
