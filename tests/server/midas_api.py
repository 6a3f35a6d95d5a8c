"""A tiny raw-HTTP helper for the server tests (no pydas client involved)."""

import requests


class Api(object):
    """Calls ``/api/json`` of a running server over one keep-alive session."""

    def __init__(self, server):
        self.server = server
        self.session = requests.Session()
        self.url = server.url + '/api/json'

    def raw(self, method, verb='POST', data=None, **params):
        """The :class:`requests.Response` of one call (parameters in the query string)."""
        return self.session.request(verb, self.url, params=dict(params, method=method),
                                    data=data, allow_redirects=False)

    def call(self, method, verb='POST', data=None, **params):
        """The decoded envelope of one call."""
        return self.raw(method, verb, data, **params).json()

    def ok(self, method, verb='POST', data=None, **params):
        """The ``data`` of a call that must succeed."""
        answer = self.call(method, verb, data, **params)
        assert answer['stat'] == 'ok', answer
        return answer['data']

    def fail(self, method, verb='POST', data=None, **params):
        """``(code, message)`` of a call that must fail."""
        answer = self.call(method, verb, data, **params)
        assert answer['stat'] == 'fail', answer
        return answer['code'], answer['message']

    def login(self, email=None, api_key=None):
        """A token for a user (default: the admin)."""
        return self.ok('midas.login', email=email or self.server.admin_email,
                       apikey=api_key or self.server.admin_api_key, appname='Default')['token']

    def upload(self, token, item_id, name, content, **params):
        """generatetoken + perform of ``content`` into an item; the item data."""
        upload_token = self.ok('midas.upload.generatetoken', token=token, itemid=item_id,
                               filename=name)['token']
        return self.ok('midas.upload.perform', 'PUT', content, uploadtoken=upload_token,
                       filename=name, length=str(len(content)), **params)
