"""A subset of the Lucene query syntax, for the embedded server's Solr search.

:func:`parse` turns a query into a :class:`Query` whose :meth:`Query.matches`
tells whether a document (a mapping of field names to lists of text values)
matches. Supported syntax:

* terms (``scan``) and quoted phrases (``"head scan"``); a backslash escapes
  the next character;
* ``*`` (any characters) and ``?`` (one character) wildcards in terms;
* fields: ``name:scan``, ``description:"head scan"``, ``field:(a OR b)``;
  ``*:*`` matches every document and ``field:*`` every document having the
  field; field names are case-insensitive; without a field a term is looked
  for in every field;
* ``AND`` / ``&&``, ``OR`` / ``||`` (also implied between clauses), ``NOT`` /
  ``!``, ``+`` (required) and ``-`` (prohibited) prefixes, parentheses.

Semantics: ``AND`` binds tighter than ``OR``. In a clause list, a document
must match every required clause and no prohibited clause; when there is no
required clause it must match at least one optional clause (a list of only
prohibited clauses matches every other document, as Solr does at top level).

Matching is case-insensitive. A term matches a value if it matches the whole
value or one of its words (runs of letters, digits and ``_``), so
``name:result*`` finds ``result.nrrd``. A phrase matches consecutive words.

Not supported (:class:`QuerySyntaxError`): ranges (``[a TO b]``, ``{a TO b}``),
fuzzy and proximity ``~``, boosts ``^``, regular expressions ``/re/``.

Why a parser of our own (reviewed against the maintained ones): luqum, the maintained
Lucene query parser for Python, does not know the ``&&``, ``||`` and ``!`` operators
that Solr's standard parser accepts (it reads them as words, so ``a || b`` would need a
rewrite before parsing), and brings ply along; Whoosh's parser has a syntax and
semantics of its own and is unmaintained since 2016; Tantivy's is a compiled search
engine with other matching rules. None matches what Solr does on these queries, and
the ``solr`` module is on by default, so its parser must come with the core server,
which has no dependencies. Matching (the part that must behave like Solr) would be
ours with any of them; the lexer and parser here are some 150 lines.
"""

import re

_SPECIAL = set('()":')
_UNSUPPORTED = set('[]{}~^/')
_WORD = re.compile(r'\w+', re.UNICODE)


class QuerySyntaxError(ValueError):
    """The query is not in the supported Lucene subset."""


# -- lexer --------------------------------------------------------------------

class _Token(object):
    def __init__(self, kind, text=''):
        self.kind = kind      # TERM, PHRASE, FIELD, LPAREN, RPAREN, AND, OR, NOT, PLUS, MINUS
        self.text = text

    def __repr__(self):
        return '%s(%r)' % (self.kind, self.text)


_OPERATORS = {'AND': 'AND', '&&': 'AND', 'OR': 'OR', '||': 'OR', 'NOT': 'NOT'}


def _tokenize(query):
    tokens = []
    position = 0
    while position < len(query):
        char = query[position]
        if char.isspace():
            position += 1
        elif char in '()':
            tokens.append(_Token('LPAREN' if char == '(' else 'RPAREN'))
            position += 1
        elif char == '"':
            text, position = _read_phrase(query, position + 1)
            tokens.append(_Token('PHRASE', text))
        elif char in '+-!' and query[position + 1:position + 2].strip():
            tokens.append(_Token({'+': 'PLUS', '-': 'MINUS', '!': 'NOT'}[char]))
            position += 1
        else:
            token, position = _read_word(query, position)
            tokens.append(token)
    return tokens


def _read_phrase(query, position):
    chars = []
    while position < len(query):
        char = query[position]
        if char == '\\' and position + 1 < len(query):
            chars.append(query[position + 1])
            position += 2
        elif char == '"':
            return ''.join(chars), position + 1
        else:
            chars.append(char)
            position += 1
    raise QuerySyntaxError('unterminated phrase')


def _read_word(query, position):
    """A term, a field name (``word:``) or an operator, with escapes kept as ``\\x``."""
    start = position
    while position < len(query):
        char = query[position]
        if char == '\\':
            if position + 1 == len(query):
                raise QuerySyntaxError('dangling escape character')
            position += 2
            continue
        if char.isspace() or char in _SPECIAL:
            break
        if char in _UNSUPPORTED:
            raise QuerySyntaxError('unsupported syntax %r' % char)
        position += 1
    word = query[start:position]
    if position < len(query) and query[position] == ':':
        if not word:
            raise QuerySyntaxError('empty field name')
        return _Token('FIELD', _unescape(word)), position + 1
    if not word:
        raise QuerySyntaxError('unexpected %r' % query[position])
    if word in _OPERATORS:
        return _Token(_OPERATORS[word], word), position
    return _Token('TERM', word), position


def _unescape(text):
    return re.sub(r'\\(.)', r'\1', text)


# -- query tree ---------------------------------------------------------------

def _words(text):
    return _WORD.findall(text.lower())


def _values(document, field):
    if field is None:
        return [value for values in document.values() for value in values]
    return document.get(field.lower(), [])


class Query(object):
    """A parsed query."""

    def matches(self, document):
        """Tell whether ``document`` matches.

        :param document: field name (lower case) -> list of text values
        :type document: dict
        :rtype: bool
        """
        raise NotImplementedError


class _MatchAll(Query):
    def matches(self, document):
        return True


class _FieldExists(Query):
    def __init__(self, field):
        self.field = field

    def matches(self, document):
        return any(value for value in _values(document, self.field))


class _Term(Query):
    def __init__(self, field, raw):
        self.field = field
        self.pattern = _term_pattern(raw)

    def matches(self, document):
        for value in _values(document, self.field):
            lowered = value.lower()
            if self.pattern.match(lowered) or any(self.pattern.match(w) for w in _words(value)):
                return True
        return False


def _term_pattern(raw):
    """The anchored regular expression of a term with ``*``/``?`` wildcards."""
    parts = []
    position = 0
    while position < len(raw):
        char = raw[position]
        if char == '\\':
            parts.append(re.escape(raw[position + 1].lower()))
            position += 2
            continue
        parts.append({'*': '.*', '?': '.'}.get(char) or re.escape(char.lower()))
        position += 1
    return re.compile(''.join(parts) + r'\Z', re.DOTALL)


class _Phrase(Query):
    def __init__(self, field, text):
        self.field = field
        self.text = text.lower()
        self.words = _words(text)

    def matches(self, document):
        count = len(self.words)
        for value in _values(document, self.field):
            if value.lower() == self.text:
                return True
            words = _words(value)
            if count and any(words[i:i + count] == self.words
                             for i in range(len(words) - count + 1)):
                return True
        return False


class _Conjunction(Query):
    """Items joined by ``AND``: every positive item matches and no negated one."""

    def __init__(self, items):
        self.items = items

    def matches(self, document):
        return all(query.matches(document) == (modifier != 'prohibited')
                   for modifier, query in self.items)


class _Clauses(Query):
    """A clause list with Lucene's required / prohibited / optional semantics."""

    def __init__(self, clauses):
        self.clauses = clauses

    def matches(self, document):
        required = [q for m, q in self.clauses if m == 'required']
        prohibited = [q for m, q in self.clauses if m == 'prohibited']
        optional = [q for m, q in self.clauses if m == 'optional']
        if not all(q.matches(document) for q in required):
            return False
        if any(q.matches(document) for q in prohibited):
            return False
        if optional and not required:
            return any(q.matches(document) for q in optional)
        return True


# -- parser -------------------------------------------------------------------

class _Parser(object):
    def __init__(self, tokens):
        self.tokens = tokens
        self.position = 0

    def peek(self):
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self):
        token = self.peek()
        self.position += 1
        return token

    def clauses(self, field):
        """A clause list, up to a closing parenthesis or the end."""
        units = []
        operator = None
        while self.peek() is not None and self.peek().kind != 'RPAREN':
            if self.peek().kind in ('AND', 'OR'):
                if not units or operator:
                    raise QuerySyntaxError('misplaced %s' % self.peek().text)
                operator = self.take().kind
                continue
            item = self.item(field)
            if operator == 'AND':
                units[-1].append(item)
            else:
                units.append([item])
            operator = None
        if operator:
            raise QuerySyntaxError('query ends with %s' % operator)
        if not units:
            raise QuerySyntaxError('empty query')
        return _Clauses([unit[0] if len(unit) == 1 else ('optional', _Conjunction(unit))
                         for unit in units])

    def item(self, field):
        modifier = 'optional'
        token = self.peek()
        if token.kind in ('PLUS', 'MINUS', 'NOT'):
            self.take()
            modifier = 'required' if token.kind == 'PLUS' else 'prohibited'
        return modifier, self.primary(field)

    def primary(self, field):
        token = self.take()
        if token is None:
            raise QuerySyntaxError('query ends after an operator')
        if token.kind == 'LPAREN':
            inner = self.clauses(field)
            if self.take() is None:
                raise QuerySyntaxError('missing closing parenthesis')
            return inner
        if token.kind == 'FIELD':
            if self.peek() is None or self.peek().kind not in ('TERM', 'PHRASE', 'LPAREN'):
                raise QuerySyntaxError('field %s: has no value' % token.text)
            return self.primary(None if token.text == '*' else token.text)
        if token.kind == 'PHRASE':
            return _Phrase(field, token.text)
        if token.kind == 'TERM':
            return _term(field, token.text)
        raise QuerySyntaxError('unexpected %s' % (token.text or token.kind))


def _term(field, raw):
    if raw == '*':
        return _MatchAll() if field is None else _FieldExists(field)
    return _Term(field, raw)


def parse(query):
    """Parse a query in the supported Lucene subset.

    :param query: the query text
    :type query: str
    :rtype: Query
    :raises QuerySyntaxError: if the query is empty or outside the subset
    """
    parser = _Parser(_tokenize(query))
    result = parser.clauses(None)
    if parser.peek() is not None:
        raise QuerySyntaxError('unbalanced closing parenthesis')
    return result
