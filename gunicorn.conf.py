"""gunicorn's settings for sferum-lite; gunicorn reads ./gunicorn.conf.py by itself when started
from the project folder, as the README's commands are. Workers, threads and the address stay on
the command line."""

# gunicorn >= 25 opens a control socket at $XDG_RUNTIME_DIR/gunicorn.ctl or at
# ~/.gunicorn/gunicorn.ctl: one path for every gunicorn the user runs, so two kindergartens on one
# host (or the old and the new server overlapping during a restart) take it from each other.
# We don't use `gunicornc`.
control_socket_disable = True


def on_starting(server):
    """Tell the app how many workers there are (they inherit the master's environment when
    forked): with several, rate limits counted in memory are per worker, and the app warns."""
    import os

    os.environ["SFERUM_GUNICORN_WORKERS"] = str(server.cfg.workers)


def post_fork(server, worker):
    """Which worker this is (1 for the first one forked): only that one says the warning."""
    import os

    os.environ["SFERUM_GUNICORN_WORKER_AGE"] = str(worker.age)
