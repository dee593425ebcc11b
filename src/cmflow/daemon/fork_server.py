"""What the daemon's fork server preloads: importing this module warms the process up
(:func:`cmflow.daemon.worker.warm_up`: every plugin and lazily loaded library imported, the
store's statements and a workflow's validation run once, the heap frozen), so that each run
forked from it starts with nothing left to load. Only the fork server imports it: the warm-up
is no side effect of importing the worker (the daemon and the tests import that)."""

from cmflow.daemon.worker import warm_up

warm_up()
