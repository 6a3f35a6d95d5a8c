"""Midas module ``tracker``: the 2019 methods beyond scalars and submissions (API §4.49).

Submission document validation, aggregate metrics and their notifications. The API
document names these methods only; the behaviour here is the plausible minimum:

* ``submission.validate`` checks that ``producerConfig`` and ``submissionDocument`` are
  JSON objects and keeps the submission document on the submission;
* aggregate metric specs and notifications are defined in the Midas web pages, which this
  server does not have, so none ever exists: ``aggregatemetrics.update`` computes none
  (``[]``) and the notification methods answer 404 for any spec or notification id.

Errors follow the tracker's conventions: ``-1`` for a missing parameter, 404 for an
unknown object, 403 for a missing permission.
"""

import json

from pydas.testing.registry import ApiError, api_method
from pydas.testing.storage import WRITE

MODULE = 'tracker'


def _submission(call, level):
    """The submission of the ``uuid`` parameter; the caller holds ``level`` on its community."""
    uuid = call.require('uuid', module=True)
    store = call.store
    submission = store.one('SELECT * FROM tracker_submission WHERE uuid = ?', uuid)
    if submission is None:
        raise ApiError(404, 'Invalid submission uuid: %s' % uuid)
    community_id = store.value('SELECT community_id FROM tracker_producer WHERE producer_id = ?',
                               submission['producer_id'])
    if not store.can_access_community(call.user, community_id, level):
        raise ApiError(403, 'Write permission on the community required')
    return submission


def _json_object(call, name):
    """The decoded JSON object of an optional parameter, or None when absent."""
    if not call.has(name):
        return None
    try:
        value = json.loads(call.param(name))
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise ApiError(-1, '%s must be a JSON object' % name)
    return value


@api_method('midas.tracker.submission.validate', module=MODULE)
def submission_validate(call):
    """throws Exception

    (Server help text.) Validate the producer configuration and submission documents
    of a submission; the submission document is stored with the submission.

    :param uuid: The uuid of the submission to validate documents for
    :param producerConfig: (Optional) JSON object describing the pipeline
    :param submissionDocument: (Optional) JSON object describing the submission
    """
    submission = _submission(call, WRITE)
    _json_object(call, 'producerConfig')
    document = _json_object(call, 'submissionDocument')
    if document is not None:
        call.store.execute('UPDATE tracker_submission SET document = ? WHERE submission_id = ?',
                           json.dumps(document), submission['submission_id'])


@api_method('midas.tracker.aggregatemetrics.update', module=MODULE)
def aggregatemetrics_update(call):
    """throws Exception

    (Server help text.) Compute the aggregate metrics of a submission: none, as no
    aggregate metric spec can be defined on this server.

    :param uuid: The uuid of the submission to calculate aggregate metrics for
    :param notify: (Optional) If set, will schedule notifications for the calculated metrics
        if any are above their defined threshold
    :returns: An array of AggregateMetricDao calculated on the submission
    """
    _submission(call, WRITE)
    return []


def _notification_args(call):
    user_id = call.require('userId', module=True)
    notification_id = call.require('aggregateMetricNotificationId', module=True)
    if call.store.user(user_id) is None:
        raise ApiError(404, 'Invalid userId')
    call.user  # resolved as Midas does before loading the notification: a bad token fails
    raise ApiError(404, 'Invalid aggregateMetricNotificationId: %s' % notification_id)


@api_method('midas.tracker.aggregatemetricspecnotifieduser.create', module=MODULE)
def notified_user_create(call):
    """throws Exception

    (Server help text.) Alert a user of an aggregate metric notification.

    :param userId: The id of the user to tie to the notification
    :param aggregateMetricNotificationId: The id of the aggregate metric notification
    :returns: UserDao the user DAO of the user who will be alerted
    """
    _notification_args(call)


@api_method('midas.tracker.aggregatemetricspecnotifieduser.delete', module=MODULE)
def notified_user_delete(call):
    """throws Exception

    (Server help text.) Stop alerting a user of an aggregate metric notification.

    :param userId: The id of the user to delete from the notification
    :param aggregateMetricNotificationId: The id of the aggregate metric notification
    :returns: UserDao the user DAO of the user who will no longer be alerted
    """
    _notification_args(call)


@api_method('midas.tracker.aggregatemetricspecnotifications.list', module=MODULE)
def notifications_list(call):
    """List the notifications of an aggregate metric spec with their users.

    :param aggregateMetricSpecId: the id of the aggregate metric spec
    :returns: array of associative arrays with keys 'notification' and 'users'
    """
    spec_id = call.require('aggregateMetricSpecId', module=True)
    call.user  # resolved before the spec is loaded: a bad token fails first
    raise ApiError(404, 'Invalid aggregateMetricSpecId: %s' % spec_id)
