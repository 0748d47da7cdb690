"""The README's production command starts, twice on one host, without the two fighting."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from .conftest import TEST_DATABASE_URL

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status(url: str) -> int | None:
    request = urllib.request.Request(url, method="GET")
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_two_servers_on_one_host_both_start_and_leave_the_home_folder_alone(tmp_path):
    """The README's commands, one with a single worker and one with several, side by side.
    gunicorn's control socket would be ~/.gunicorn/gunicorn.ctl for both; gunicorn.conf.py
    turns it off, so both serve and nothing is written to the home folder."""
    home = tmp_path / "home"
    home.mkdir()
    servers = []
    try:
        for n in range(2):
            port = free_port()
            if TEST_DATABASE_URL.startswith("postgresql"):
                url = TEST_DATABASE_URL
            else:
                url = "sqlite:///" + str(tmp_path / f"kindergarten{n}.sqlite3")
            env = {
                **{k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"},
                "HOME": str(home),
                "SFERUM_DATABASE_URL": url,
                "SFERUM_SECRET_KEY": f"key-{n}",
                "SFERUM_UPLOAD_FOLDER": str(tmp_path / f"uploads{n}"),
                "SFERUM_BASE_URL": f"http://127.0.0.1:{port}",
            }
            command = [sys.executable, "-m", "gunicorn", "-k", "gthread", "--threads", "4"]
            # the README's two commands: one worker (SQLite), and several (a municipality)
            command += ["-w", str(1 + n), "-b", f"127.0.0.1:{port}", "app:app"]
            log = open(tmp_path / f"server{n}.log", "w")  # noqa: SIM115 - closed below
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
            servers.append((process, port, log))
        deadline = time.monotonic() + 60
        answers = [None, None]
        while time.monotonic() < deadline and None in answers:
            answers = [status(f"http://127.0.0.1:{port}/") for _, port, _ in servers]
            time.sleep(0.3)
        logs = [(tmp_path / f"server{n}.log").read_text() for n in range(2)]
        assert answers == [302, 302], logs  # both up, each sending its first visitor to setup
        assert all(process.poll() is None for process, _, _ in servers), logs
        assert not (home / ".gunicorn").exists()
        assert not any("control" in text.lower() and "error" in text.lower() for text in logs)
    finally:
        for process, _, log in servers:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
            log.close()
