"""The router's own process supervision for ``ROUTER_WORKERS`` > 1.

The parent binds the listening sockets once and starts that many worker processes
(``router/worker_process.py``) that serve on them. A worker that dies, whatever the cause, is
logged and replaced while the others keep serving. Workers that fail before they serve are
replaced after a growing pause, and after ``give_up_after`` such failures in a row the router
stops with exit code 1 rather than restart them forever. SIGTERM or SIGINT drains every worker
and the parent exits 0; a worker still running after the grace is killed.

Hypercorn's own multi-process runner does none of this: one dead worker made it stop every
other worker and exit.
"""

from __future__ import annotations

import os
import signal
import time
from contextlib import suppress
from dataclasses import dataclass
from multiprocessing import get_context
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from types import FrameType

from hypercorn.config import Config, Sockets
from hypercorn.utils import repr_socket_addr
from prometheus_client import multiprocess

from flask_core.logging import get_logger

from .worker_process import SERVING, run_worker

_log = get_logger("router.workers")
# Beyond Hypercorn's graceful timeout (requests in flight), the time a worker's lifespan gets to
# drain its background tasks and write its audit queue before it is killed.
CLOSING_SECONDS = 10.0
_ERROR = {"event_type": "ERROR"}


@dataclass(frozen=True)
class RestartPolicy:
    """How workers that fail before they serve are restarted, and when to give up."""

    give_up_after: int = 5
    first_pause_seconds: float = 0.5
    longest_pause_seconds: float = 8.0

    def pause(self, failures_in_a_row: int) -> float:
        if failures_in_a_row == 0:
            return 0.0
        doubled = self.first_pause_seconds * 2 ** (failures_in_a_row - 1)
        return min(doubled, self.longest_pause_seconds)


@dataclass
class Worker:
    """One worker process, and the pipe on which it says that it serves."""

    process: BaseProcess
    serving_pipe: Connection | None
    serving: bool = False

    @property
    def pid(self) -> int:
        assert self.process.pid is not None
        return self.process.pid


@dataclass
class _Stop:
    """Why the supervisor stops, and with which exit code."""

    reason: str
    exit_code: int


class WorkerSupervisor:
    """Starts ``count`` workers on ``sockets``, replaces the ones that die, drains them all."""

    def __init__(
        self, config: Config, sockets: Sockets, count: int, policy: RestartPolicy | None = None
    ) -> None:
        self.config, self.sockets, self.count = config, sockets, count
        self.policy = policy or RestartPolicy()
        self.workers: list[Worker] = []
        self.failures_in_a_row = 0
        self.restarts_due: list[float] = []  # monotonic times
        self.stop: _Stop | None = None
        self._context = get_context("spawn")
        self._wake_reader, self._wake_writer = os.pipe()
        os.set_blocking(self._wake_writer, False)
        self._previous_handlers: dict[int, signal._HANDLER] = {}

    def run(self) -> int:
        """Supervise until a signal or repeated start-up failures; the process's exit code."""
        self._install_signal_handlers()
        self.restarts_due = [time.monotonic()] * self.count
        self._start_due()
        while self.stop is None:
            self._wait_for_news()
            self._collect_serving()
            self._replace_dead()
            self._start_due()
        return self._drain(self.stop)

    # -- the supervision loop ------------------------------------------------------------------

    def _wait_for_news(self) -> None:
        """Until a worker serves or dies, a signal arrives or a restart is due."""
        watched: list[Connection | int] = [self._wake_reader]
        for worker in self.workers:
            watched.append(worker.process.sentinel)
            if worker.serving_pipe is not None:
                watched.append(worker.serving_pipe)
        timeout = None
        if self.restarts_due:
            timeout = max(0.0, min(self.restarts_due) - time.monotonic())
        ready = wait(watched, timeout)
        if self._wake_reader in ready:
            os.read(self._wake_reader, 64)

    def _collect_serving(self) -> None:
        for worker in self.workers:
            pipe = worker.serving_pipe
            if pipe is None or not pipe.poll():
                continue
            worker.serving_pipe = None
            with suppress(EOFError):  # it died before it served; _replace_dead tells
                worker.serving = pipe.recv_bytes() == SERVING
            pipe.close()
            if worker.serving:
                self.failures_in_a_row = 0
                _log.info("worker %s serving", worker.pid, extra={"event_type": "SYSTEM"})

    def _replace_dead(self) -> None:
        for worker in self._reap():
            ended = f"worker {worker.pid} {describe_exit(worker.process.exitcode)}"
            if self.stop is not None:
                _log.error("%s; not replaced: the router is stopping", ended, extra=_ERROR)
            elif worker.serving:
                _log.error("%s; starting a replacement", ended, extra=_ERROR)
                self.restarts_due.append(time.monotonic())
            else:
                self._failed_start(f"{ended} before serving", "starting a replacement")

    def _failed_start(self, what: str, next_step: str) -> None:
        """Count a start-up failure: retry after a pause, or stop after too many in a row."""
        self.failures_in_a_row += 1
        if self.failures_in_a_row >= self.policy.give_up_after:
            _log.error(
                "%s: %s start-up failures in a row; stopping the router",
                what,
                self.failures_in_a_row,
                extra=_ERROR,
            )
            self.stop = _Stop("workers keep failing at start-up", 1)
            return
        pause = self.policy.pause(self.failures_in_a_row)
        _log.error("%s; %s in %g s", what, next_step, pause, extra=_ERROR)
        self.restarts_due.append(time.monotonic() + pause)

    def _start_due(self) -> None:
        now = time.monotonic()
        for when in [when for when in self.restarts_due if when <= now]:
            self.restarts_due.remove(when)
            if self.stop is not None:
                return
            try:
                self._start_worker()
            except OSError as error:  # no process or pipe to be had: limits, descriptors
                self._failed_start(f"a worker could not be started ({error})", "trying again")

    # -- starting and reaping ------------------------------------------------------------------

    def _start_worker(self) -> Worker:
        reader, writer = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=run_worker,
            kwargs={"config": self.config, "sockets": self.sockets, "serving": writer},
            name="router-worker",
        )
        # The worker inherits an ignored SIGINT: a Ctrl-C reaches the whole process group, and
        # the parent alone decides how workers stop (SIGTERM, one drain each).
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            process.start()
        except OSError:
            reader.close()
            raise
        finally:
            signal.signal(signal.SIGINT, previous)
            writer.close()  # the worker holds its own copy: its exit closes the pipe
        worker = Worker(process, reader)
        self.workers.append(worker)
        return worker

    def _reap(self) -> list[Worker]:
        dead = [worker for worker in self.workers if worker.process.exitcode is not None]
        for worker in dead:
            worker.process.join()
            self.workers.remove(worker)
            if worker.serving_pipe is not None:
                worker.serving_pipe.close()
            if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
                multiprocess.mark_process_dead(worker.pid)  # its live gauges leave the merge
        return dead

    # -- stopping ------------------------------------------------------------------------------

    def _install_signal_handlers(self) -> None:
        def on_signal(signum: int, frame: FrameType | None) -> None:
            if self.stop is None:
                self.stop = _Stop(f"{signal.Signals(signum).name} received", 0)
            with suppress(OSError):  # a full pipe already wakes the loop
                os.write(self._wake_writer, b"\0")

        for signum in (signal.SIGTERM, signal.SIGINT):
            self._previous_handlers[signum] = signal.signal(signum, on_signal)

    def _drain(self, stop: _Stop) -> int:
        """SIGTERM every worker, wait out the grace, kill what is left; the exit code."""
        grace = self.config.graceful_timeout + CLOSING_SECONDS
        _log.info(
            "stopping (%s): draining %s workers, at most %g s",
            stop.reason,
            len(self.workers),
            grace,
            extra={"event_type": "SYSTEM"},
        )
        # Workers close their copies of the listening sockets as they start draining; once the
        # parent's copies are closed too, new connections are refused instead of queueing.
        self._close_sockets()
        for worker in self.workers:
            worker.process.terminate()
        deadline = time.monotonic() + grace
        exit_code = stop.exit_code
        while self.workers and time.monotonic() < deadline:
            remaining = max(0.0, deadline - time.monotonic())
            wait([worker.process.sentinel for worker in self.workers], remaining)
            for worker in self._reap():
                exit_code = max(exit_code, _report_drained(worker))
        for worker in list(self.workers):
            _log.error(
                "worker %s did not stop within %g s; killing it",
                worker.pid,
                grace,
                extra={"event_type": "ERROR"},
            )
            worker.process.kill()
            exit_code = 1
        self._reap_killed()
        self._close()
        return exit_code

    def _reap_killed(self) -> None:
        for worker in self.workers:
            worker.process.join()
        self._reap()

    def _close_sockets(self) -> None:
        for sock in (*self.sockets.secure_sockets, *self.sockets.insecure_sockets):
            sock.close()

    def _close(self) -> None:
        for signum, handler in self._previous_handlers.items():
            signal.signal(signum, handler)  # before the wake-up pipe it writes to is closed
        os.close(self._wake_reader)
        os.close(self._wake_writer)


def _report_drained(worker: Worker) -> int:
    """Log how a draining worker ended; 1 when it did not end cleanly, else 0."""
    if worker.process.exitcode == 0:
        _log.info("worker %s drained", worker.pid, extra={"event_type": "SYSTEM"})
        return 0
    if not worker.serving and worker.process.exitcode == -signal.SIGTERM:
        # Still importing the app: it had opened nothing that needed closing.
        _log.info("worker %s ended before serving", worker.pid, extra={"event_type": "SYSTEM"})
        return 0
    _log.warning(
        "worker %s %s while draining",
        worker.pid,
        describe_exit(worker.process.exitcode),
        extra={"event_type": "ERROR"},
    )
    return 1


def describe_exit(exitcode: int | None) -> str:
    """``exited with code 3`` or ``killed by SIGKILL``, from a process's ``exitcode``."""
    if exitcode is not None and exitcode < 0:
        return f"killed by {signal.Signals(-exitcode).name}"
    return f"exited with code {exitcode}"


def serve_workers(config: Config, count: int) -> int:
    """Bind ``config``'s sockets once and run ``count`` supervised workers on them."""
    sockets = config.create_sockets()
    # Workers keep quiet about the sockets they share (flask_core ListeningLine): one line here.
    for sock in sockets.insecure_sockets:
        _log.info(
            "listening on http://%s with %s workers",
            repr_socket_addr(sock.family, sock.getsockname()),
            count,
            extra={"event_type": "SYSTEM"},
        )
    return WorkerSupervisor(config, sockets, count).run()
