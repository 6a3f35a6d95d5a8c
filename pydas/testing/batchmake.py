"""Midas module ``batchmake`` (removed in 3.4.2): Condor DAGs and jobs of tasks (API §4.44-4.45).

Served as the module's last version (February 2016) when ``batchmake`` is
among the server's modules; the recorded 3.4.2 profile leaves it out, so its
methods answer -101 "does not exist". Batchmake tasks were created by the
module's web pages, never through the API: tests make them with
:func:`create_task`.
"""

from pydas.testing import storage
from pydas.testing.registry import ApiError, api_method
from pydas.testing.storage import as_id

storage.register_schema("""
CREATE TABLE IF NOT EXISTS batchmake_task (
    batchmake_task_id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER,
    work_dir TEXT DEFAULT '');
CREATE TABLE IF NOT EXISTS condor_dag (
    condor_dag_id INTEGER PRIMARY KEY AUTOINCREMENT, batchmake_task_id INTEGER,
    out_filename TEXT, dag_filename TEXT);
CREATE TABLE IF NOT EXISTS condor_job (
    condor_job_id INTEGER PRIMARY KEY AUTOINCREMENT, condor_dag_id INTEGER,
    jobdefinition_filename TEXT, output_filename TEXT, error_filename TEXT,
    log_filename TEXT, post_filename TEXT);
""")

MODULE = 'batchmake'
DAG_FIELDS = ('condor_dag_id', 'batchmake_task_id', 'out_filename', 'dag_filename')
JOB_FIELDS = ('condor_job_id', 'condor_dag_id', 'jobdefinition_filename', 'output_filename',
              'error_filename', 'log_filename', 'post_filename')


def create_task(store, user_id, work_dir=''):
    """Create a batchmake task owned by a user (for tests); return its id.

    :param store: the server state (``server.store``)
    :type store: pydas.testing.storage.Store
    :rtype: int
    """
    return store.execute('INSERT INTO batchmake_task (user_id, work_dir) VALUES (?, ?)',
                         as_id(user_id), work_dir)


def _owned_task(call, what):
    """The task of ``batchmaketaskid`` if the caller owns it; the module's errors otherwise."""
    user = call.user
    if user is None:
        raise ApiError(-151, 'Anonymous users may not add condor %s' % what)
    task = call.store.one('SELECT * FROM batchmake_task WHERE batchmake_task_id = ?',
                          as_id(call.param('batchmaketaskid')))
    if task is None:
        raise ApiError(-150, 'Invalid batchmaketaskid specified')
    if task['user_id'] != as_id(user['user_id']):
        raise ApiError(-151, 'You are not the owner of this batchmake task')
    return task


def _pick(row, fields):
    return {field: row[field] for field in fields}


@api_method('midas.batchmake.add.condor.dag', module=MODULE)
def add_condor_dag(call):
    """Record a Condor DAG under one of the caller's batchmake tasks.

    :param batchmaketaskid: id of the caller's task that gets the DAG
    :param dagfilename: name of the DAG description file
    :param outfilename: name of the file DAGMan writes its output to
    :returns: the new DAG row
    """
    for name in ('batchmaketaskid', 'dagfilename', 'outfilename'):
        call.require(name, module=True)
    task = _owned_task(call, 'dags')
    dag_id = call.store.execute('INSERT INTO condor_dag (batchmake_task_id, out_filename, '
                                'dag_filename) VALUES (?, ?, ?)', task['batchmake_task_id'],
                                call.param('outfilename'), call.param('dagfilename'))
    return _pick(call.store.one('SELECT * FROM condor_dag WHERE condor_dag_id = ?', dag_id),
                 DAG_FIELDS)


@api_method('midas.batchmake.add.condor.job', module=MODULE)
def add_condor_job(call):
    """Record a Condor job under the oldest DAG of one of the caller's batchmake tasks.

    :param batchmaketaskid: id of the caller's task (it must already have a DAG)
    :param jobdefinitionfilename: name of the job's submit description
    :param outputfilename: name of the file that gets the job's standard output
    :param errorfilename: name of the file that gets the job's standard error
    :param logfilename: name of the job's Condor log
    :param postfilename: name of the log of the job's post script
    :returns: the new job row
    """
    names = ('batchmaketaskid', 'jobdefinitionfilename', 'outputfilename', 'errorfilename',
             'logfilename', 'postfilename')
    values = [call.require(name, module=True) for name in names]
    task = _owned_task(call, 'jobs')
    dag_id = call.store.value('SELECT condor_dag_id FROM condor_dag WHERE batchmake_task_id = ? '
                              'ORDER BY condor_dag_id LIMIT 1', task['batchmake_task_id'])
    if dag_id is None:
        raise ApiError(-150, 'There is no condor dag for this batchmaketaskid')
    job_id = call.store.execute(
        'INSERT INTO condor_job (condor_dag_id, jobdefinition_filename, output_filename, '
        'error_filename, log_filename, post_filename) VALUES (?, ?, ?, ?, ?, ?)',
        dag_id, *values[1:])
    return _pick(call.store.one('SELECT * FROM condor_job WHERE condor_job_id = ?', job_id),
                 JOB_FIELDS)
