"""One process at a time in a run folder or a chain step's folder.

Two ``mer-fast train`` commands on the same ``--out`` used to both train every fold (each
resuming the other's ``last.pt``). A :class:`FolderLock` is an exclusive ``flock`` on
``FOLDER/.mer-fast.lock``, which holds who took it (pid, host, start time, command) so that the
second process can say who is there. The kernel drops a ``flock`` when its process ends in any
way (SIGKILL included), so a lock file left by a dead process is simply taken over, with a note
naming it. The lock file itself stays (empty once released): deleting it could let two
processes lock two different files of one name.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import sys
import time
from pathlib import Path

from mer_fast.errors import ConfigError

LOCK_NAME = ".mer-fast.lock"


def _holder_text(info: dict) -> str:
    started = info.get("started")
    when = (
        time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started))
        if isinstance(started, (int, float))
        else "?"
    )
    text = f"pid {info.get('pid', '?')} on {info.get('host', '?')}, started {when}"
    if info.get("command"):
        text += f": {info['command']}"
    return text


class FolderLock:
    """An exclusive lock on ``folder`` (created if missing). ``what`` names the folder in
    messages; ``option`` is the option that chose it; ``wait``: wait for another holder to end
    instead of failing (a context manager takes the lock so)."""

    def __init__(
        self,
        folder: str | os.PathLike,
        *,
        what: str = "run folder",
        option: str = "--out",
        wait: bool = False,
    ):
        self.folder = Path(folder)
        self.wait = wait
        self.path = self.folder / LOCK_NAME
        self.what = what
        self.option = option
        self.fd: int | None = None

    def _read(self, fd: int) -> dict:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            data = os.read(fd, 1 << 16)
            info = json.loads(data.decode("utf-8")) if data.strip() else {}
        except (OSError, ValueError):
            return {}
        return info if isinstance(info, dict) else {}

    def acquire(self, *, wait: bool | None = None) -> FolderLock:
        """Takes the lock. Held by another process: a :class:`ConfigError` saying who, or with
        ``wait`` a note saying who, then waiting for it to end."""
        import fcntl

        wait = self.wait if wait is None else wait
        from mer_fast.utils.progress import console

        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        waited = False
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
                holder = _holder_text(self._read(fd))
                if not wait:
                    raise ConfigError(
                        f"another mer-fast process is working in this {self.what}: {holder}",
                        file=self.folder,
                        field=self.option,
                        fix=f"wait for it to end (or stop it), or give another {self.option}; "
                        f"a lock left by a process that ended is taken over by itself",
                    ) from None
                console.print(
                    f"  {self.folder}: in use by {holder}; waiting for it to end", highlight=False
                )
                fcntl.flock(fd, fcntl.LOCK_EX)
                waited = True
            left = self._read(fd)
            if left and not waited:
                console.print(
                    f"  note: {self.folder}: taking over the lock left by "
                    f"{_holder_text(left)} (no longer running)",
                    highlight=False,
                )
            info = {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "started": time.time(),
                "command": " ".join(sys.argv),
            }
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, json.dumps(info).encode("utf-8"))
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is None:
            return
        import fcntl

        try:
            os.ftruncate(self.fd, 0)  # nobody holds it: no holder to name
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
