"""Unit tests of the Lucene query subset behind ``midas.solr.search.advanced``."""

import pytest

from pydas.testing.lucene import QuerySyntaxError, parse

DOCUMENT = {
    'name': ['result.nrrd'],
    'description': ['Head CT scan of patient 7'],
    'dicom': ['CT', '1.2.840.10008.1.2.1'],
    'dicom.modality': ['CT'],
    'dicom.transfersyntaxuid': ['1.2.840.10008.1.2.1'],
}


@pytest.mark.parametrize('query, expected', [
    ('result', True),
    ('result.nrrd', True),
    ('RESULT', True),
    ('missing', False),
    ('name:result*', True),
    ('name:*.nrrd', True),
    ('name:res?lt.nrrd', True),
    ('name:res?.nrrd', False),
    ('description:result', False),
    ('name:result\\.nrrd', True),
    ('"ct scan"', True),
    ('"scan ct"', False),
    ('description:"head ct scan of patient 7"', True),
    ('dicom.modality:CT', True),
    ('DICOM.Modality:ct', True),
    ('dicom:ct', True),
    ('dicom.transfersyntaxuid:"1.2.840.10008.1.2.1"', True),
    ('dicom.rows:*', False),
    ('name:*', True),
    ('*:*', True),
    ('*', True),
    ('name:foo OR description:head', True),
    ('name:foo || description:head', True),
    ('name:foo AND description:head', False),
    ('name:result* && description:head', True),
    ('head AND NOT mri', True),
    ('head AND !ct', False),
    ('+head -mri', True),
    ('+head -ct', False),
    ('+head missing', True),
    ('-ct', False),
    ('NOT mri', True),
    ('name:(foo OR result*)', True),
    ('(foo OR bar) AND head', False),
    ('foo bar AND head', False),
    ('foo head', True),
    ('(name:result* AND dicom.modality:mr) OR description:patient', True),
])
def test_matching(query, expected):
    assert parse(query).matches(DOCUMENT) is expected


@pytest.mark.parametrize('query', [
    '', '   ', 'a AND', 'AND a', 'a OR OR b', '(a', 'a)', 'name:', '"abc', 'a\\',
    '[a TO b]', '{a TO b}', 'a^2', 'a~', '/re/', 'name:-x',
])
def test_syntax_errors(query):
    with pytest.raises(QuerySyntaxError):
        parse(query)
