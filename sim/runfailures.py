"""How a run fails: OS, worker and scheduler failures turned into plain messages.

A run can stop for reasons that are not bugs in sim and not bad scenario
files: the output folder cannot be made, the disk fills up, a worker process
is killed (say by the out-of-memory killer), a Dask scheduler cannot be
reached. Each gets a message saying what happened and what to do, and exit
status 2 (these are :class:`sim.errors.SimError`), never a traceback.

:func:`run_failures` wraps writing a run: whatever stops it, a manifest still
saying ``running`` is marked ``incomplete`` so ``sim run --resume`` can finish
it, and known failures are re-raised as one of the errors here.
"""
from __future__ import annotations

import contextlib
import errno
import json
import os
import sqlite3
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from sim.errors import InputError, Problem, SimError


class DiskFullError(SimError):
    """The disk filled up while a run was being written (the run is resumable)."""


class WorkerDiedError(SimError):
    """A worker process stopped without a word (killed; the run is resumable)."""


class ExecutorStartError(InputError):
    """The executor could not start (e.g. a Dask scheduler that cannot be reached)."""


class OutFolderError(InputError):
    """The run folder cannot be made where ``--out`` says."""


def is_disk_full(exc: BaseException) -> bool:
    """An OSError ENOSPC/EDQUOT, or SQLite's "database or disk is full" (also as the
    message of an error a worker sent back)."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc).lower()
    return isinstance(exc, (sqlite3.Error, SimError, OSError)) and (
        "disk is full" in text or "no space left" in text)


def check_not_file(folder: Path) -> None:
    """Refuse a run folder path that is an existing file (never touch that file)."""
    try:
        is_file = folder.exists() and not folder.is_dir()
    except (OSError, ValueError) as exc:
        why = getattr(exc, "strerror", None) or str(exc)
        raise OutFolderError(Problem(None, None, None, f"--out {str(folder)[:200]!r} cannot "
                                     f"be used: {why}", "choose another folder name")) from None
    if is_file:
        raise OutFolderError(Problem(None, None, None, f"--out {folder} is a file, not a "
                                     "folder", "choose a folder name for the run"))


def make_folder(folder: Path) -> None:
    """Create the run folder (and its parents), or say plainly why it cannot be."""
    check_not_file(folder)
    missing = [p for p in [folder, *folder.parents] if not p.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".sim-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except (OSError, ValueError) as exc:
        for p in missing:       # the folders made here, deepest first: leave nothing behind
            with contextlib.suppress(OSError, ValueError):
                p.rmdir()
        why = getattr(exc, "strerror", None) or str(exc)
        raise OutFolderError(Problem(None, None, None, f"cannot write the run folder "
                                     f"{folder}: {why}",
                                     "choose a writable place with --out")) from None


def translate(exc: BaseException, folder: Path) -> BaseException | None:
    """The error to show for ``exc`` that stopped the run writing ``folder``, or None
    to let it through as it is."""
    resume = f"sim run --resume {folder}"
    if is_disk_full(exc):
        return DiskFullError(f"disk full while writing {folder}: the run stopped and is "
                             f"marked incomplete (what is stored is intact). Free some "
                             f"space, then finish it with: {resume}")
    if isinstance(exc, BrokenProcessPool):
        return WorkerDiedError(f"a worker process stopped unexpectedly (it was killed, "
                               f"perhaps for lack of memory); {folder} is marked incomplete. "
                               f"Finish it with: {resume} (use -j 1 or fewer workers if "
                               f"memory is short)")
    if isinstance(exc, OSError) and not isinstance(exc, InputError):
        why = exc.strerror or str(exc)
        return SimError(f"cannot write {exc.filename or folder}: {why}; the run is marked "
                        f"incomplete; when the problem is fixed, finish it with: {resume}")
    return None


def mark_incomplete(folder: Path) -> None:
    """Set a manifest that still says ``running`` to ``incomplete`` (best effort: on a
    full disk even this small write may fail, and then the manifest is left as it is)."""
    path = folder / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(manifest, dict) or manifest.get("status") != "running":
            return
        manifest["status"] = "incomplete"
        tmp = folder / ".manifest.json.failed.tmp"
        tmp.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        os.replace(tmp, path)
    except (OSError, ValueError):
        pass


@contextlib.contextmanager
def run_failures(folder: Path) -> Iterator[None]:
    """Around the writing of a run: mark it incomplete on any failure, and raise a
    known failure as one of this module's errors."""
    try:
        yield
    except BaseException as exc:
        mark_incomplete(folder)
        better = None if isinstance(exc, (KeyboardInterrupt, InputError)) and not \
            is_disk_full(exc) else translate(exc, folder)
        if better is not None:
            raise better from exc
        raise


DASK_TIMEOUT = "5s"   # connecting to a scheduler: fail fast on a wrong or dead address


def connect_dask(client_class: type, address: str) -> object:
    """A ``dask.distributed.Client`` connected to ``address``, or ExecutorStartError
    saying why not (unreachable, wrong scheme, not a Dask scheduler), after at most
    ``DASK_TIMEOUT``."""
    hint = "a Dask scheduler address looks like tcp://host:8786; is the scheduler running?"
    if not isinstance(address, str) or not address.strip() or "\x00" in address:
        raise ExecutorStartError(Problem(None, None, None, "--scheduler needs an address",
                                         hint))
    try:
        return client_class(address, timeout=DASK_TIMEOUT)
    except Exception as exc:  # noqa: BLE001 - dask raises OSError, TimeoutError, ValueError...
        why = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise ExecutorStartError(Problem(None, None, None, f"cannot use the Dask scheduler at "
                                         f"{address[:200]}: {why}", hint)) from None
