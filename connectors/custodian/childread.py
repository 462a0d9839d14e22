"""A statement file read in a forked child process, so that its parse runs on another core.

Parsing holds the GIL, so only a process can read the slow file (semt.002 XML, about 1.8 CPU s
for the 10k book) while this process parses and stores the others. The child is forked (cheap
while this process is small: start it before anything big) and hands back the pickled
StatementFile (its columns are lists of short strings, most of them shared, which pickle keeps
once). A refusal in the child is handed back as its source and problems and raised here as the
same ImportValidationError; a child that dies or fails otherwise raises one naming the file, so
the load stores nothing.
"""

from __future__ import annotations

import multiprocessing
import pickle
import resource
import threading
from multiprocessing.connection import Connection
from pathlib import Path

from connectors.custodian.profile import Profile
from connectors.custodian.read import StatementFile, read_statement
from engine.errors import ImportValidationError, Problem


def _child(path: Path, profile: Profile, send: Connection) -> None:
    """Read the file and send ("ok", file) | ("refused", source, problems) | ("failed", text)."""
    try:
        msg: tuple[object, ...] = ("ok", read_statement(path, profile))
    except ImportValidationError as exc:
        msg = ("refused", exc.source, exc.problems)
    except BaseException as exc:  # any failure is handed back, never swallowed
        msg = ("failed", f"{type(exc).__name__}: {exc}")
    send.send_bytes(pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL))
    send.close()


class ChildRead:
    """read_statement(path, profile) running in a forked child; `result()` waits for it."""

    def __init__(self, path: Path, profile: Profile) -> None:
        self.path = path
        self.cpu = 0.0  # the child's CPU seconds (user + system), known after result()
        ctx = multiprocessing.get_context("fork")
        self._recv, send = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_child, args=(path, profile, send), daemon=True)
        self._proc.start()
        send.close()

    def result(self) -> StatementFile:
        """The child's StatementFile; ImportValidationError if it refused the file or failed."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        try:
            payload: bytes | None = self._recv.recv_bytes()
        except (EOFError, OSError):
            payload = None
        finally:
            self._recv.close()
        self._proc.join()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        if payload is None:
            raise self._failed(f"the reader process ended without a result (exit code {self._proc.exitcode})")
        msg = pickle.loads(payload)
        if msg[0] == "ok":
            file: StatementFile = msg[1]
            return file
        if msg[0] == "refused":
            raise ImportValidationError(msg[1], list(msg[2]))
        raise self._failed(f"the reader process failed: {msg[1]}")

    def cancel(self) -> None:
        """Stop the child (the load failed elsewhere) and reap it."""
        if self._proc.is_alive():
            self._proc.kill()
        self._proc.join()
        self._recv.close()

    def _failed(self, reason: str) -> ImportValidationError:
        return ImportValidationError(self.path.name, [Problem(1, "(file)", reason)])


def is_semt002(path: Path) -> bool:
    """Whether the file looks like a semt.002 document (its namespace in the first 4 KiB)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False  # read_statement words the problem
    return b"<" in head[:64] and b":semt.002." in head


def _can_fork() -> bool:
    """Fork is there (POSIX) and no other thread runs: a fork beside one may deadlock the child."""
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def read_statements(files: list[tuple[Path, Profile]]) -> list[StatementFile]:
    """read_statement for every file, in order; with more than one file, the first semt.002 one
    is read in a child process meanwhile (started first). Not when this process runs other
    threads: a forked child could wait forever on a lock one of them held. Raises the refusal of
    the first refused file in order, as reading them one by one does."""
    slow = None
    if len(files) > 1 and _can_fork():
        slow = next((i for i, (p, _) in enumerate(files) if is_semt002(p)), None)
    if slow is None:
        return [read_statement(p, prof) for p, prof in files]
    child = ChildRead(*files[slow])
    done: dict[int, StatementFile] = {}
    for i, (p, prof) in enumerate(files):
        if i == slow:
            continue
        try:
            done[i] = read_statement(p, prof)
        except BaseException:
            if i < slow:
                child.cancel()
            else:
                child.result()  # the earlier file's refusal is the one to report, as read in order
            raise
    done[slow] = child.result()
    return [done[i] for i in range(len(files))]


__all__ = ["ChildRead", "is_semt002", "read_statements"]
