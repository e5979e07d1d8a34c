"""Test-only worker behaviour: loses its collects while a flag file exists.

A test worker imports it through `Cluster(worker_modules=...)`. While the file named by
SHARDY_TEST_NO_COLLECT_FILE exists, the worker stores its grouped replicas' results and marks
their arrivals as usual but never asks for the collect that has the orchestrator settle them
(as if it were lost): the early watch must settle the rounds itself.
"""

import os

from shardy import collects

_request_collect = collects.request_collect


def _maybe_collect(app, rounds):
    flag = os.environ.get("SHARDY_TEST_NO_COLLECT_FILE")
    if flag and os.path.exists(flag):
        return
    _request_collect(app, rounds)


collects.request_collect = _maybe_collect
