"""gunicorn's settings for sferum-lite; gunicorn reads ./gunicorn.conf.py by itself when started
from the project folder, as the README's commands are. Workers, threads and the address stay on
the command line."""

# gunicorn >= 25 opens a control socket at $XDG_RUNTIME_DIR/gunicorn.ctl or at
# ~/.gunicorn/gunicorn.ctl: one path for every gunicorn the user runs, so two kindergartens on one
# host (or the old and the new server overlapping during a restart) take it from each other.
# We don't use `gunicornc`.
control_socket_disable = True
