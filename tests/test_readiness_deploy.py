"""Readiness under gunicorn as the Procfile runs it: /readyz over HTTP, and scripts/restart.sh
stops the old master only when a worker of the new one found the database ready (the release
step ran); otherwise it stops the new master and the old one keeps serving."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from shopqr import create_app
from tests.test_restart import free_port, procfile_web, wait_for

ROOT = Path(__file__).resolve().parents[1]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.live
def test_restart_waits_for_a_ready_new_master(tmp_path):
    database = f"sqlite:///{tmp_path}/shop.sqlite"  # empty: the release step has not run
    pidfile = tmp_path / "gunicorn.pid"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DATABASE_URL": database, "SECRET_KEY": "test-secret",
           "SHOPQR_ENV": "development", "SCHEDULER_ENABLED": "0", "PORT": str(port),
           "HOST": "127.0.0.1", "GUNICORN_THREADS": "4", "GUNICORN_PIDFILE": str(pidfile),
           "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    env.pop("REDIS_URL", None)
    proc = subprocess.Popen(["bash", "-c", f"exec {procfile_web()}"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        wait_for(lambda: requests.get(base + "/healthz", timeout=1).ok, seconds=30)
        ready = requests.get(base + "/readyz", timeout=5)
        assert ready.status_code == 503 and "no schema" in ready.json()["reason"]
        old = int(pidfile.read_text())
        assert old == proc.pid

        refused = subprocess.run(["bash", str(ROOT / "scripts/restart.sh"), str(pidfile)],
                                 capture_output=True, text=True, timeout=180)
        assert refused.returncode == 1, refused
        assert "is not ready: the database has no schema yet" in refused.stderr
        assert f"{old} keeps serving" in refused.stderr
        assert alive(old) and requests.get(base + "/healthz", timeout=5).ok
        # the refused master is gone (reaped: until then the old one ignores the next USR2)
        refused_master = int(re.search(r"the new master (\d+)", refused.stderr).group(1))
        assert not alive(refused_master)

        app = create_app({"SHOPQR_ENV": "development", "SCHEDULER_ENABLED": False,
                          "SQLALCHEMY_DATABASE_URI": database})
        with app.app_context():  # the release step
            from shopqr.cli import upgrade_database

            upgrade_database()
        assert requests.get(base + "/readyz", timeout=5).status_code == 200

        done = subprocess.run(["bash", str(ROOT / "scripts/restart.sh"), str(pidfile)],
                              capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done
        assert f"restarted: {old} -> " in done.stdout
        assert proc.wait(timeout=5) is not None  # the old master has exited
        new = int(pidfile.read_text())
        assert new != old and alive(new)
        assert requests.get(base + "/readyz", timeout=5).json()["status"] == "ready"
    finally:
        with contextlib.suppress(ProcessLookupError):  # the new master is in the old one's group
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
