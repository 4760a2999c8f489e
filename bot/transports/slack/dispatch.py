"""Where a request that passed the front door (door.py, beside it) meets Bolt.

`caseclock serve` runs Bolt in a worker process (BoltWorker): the command work (parse,
store, recompute, reply) then never holds the interpreter lock of the process that reads
requests and acknowledges them, and Bolt's copy of each request for its lazy listeners
happens there too. The reminder scheduler runs in the worker as well, for the same reason.
InProcessBolt runs Bolt on threads of the server's own process: for tests that inject a
clock or a casebook, and for anything that cannot start a process.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any

from slack_bolt.request import BoltRequest

from bot.transports.slack.door import SlackAnswer

if TYPE_CHECKING:
    from slack_bolt import App as BoltApp

    from store.settings import Settings

log = logging.getLogger("caseclock.web")
WORKER_NICENESS = 10  # the worker's CPU priority below the server's (0): see _start_worker


def dispatch(bolt: BoltApp, body: str, headers: dict[str, str]) -> SlackAnswer:
    """Run Bolt on one request (acks in this thread, lazy listeners on its pool)."""
    response = bolt.dispatch(BoltRequest(body=body, headers=dict(headers.items())))
    return SlackAnswer(response.status, response.first_headers_without_set_cookie(),
                       response.body or "")


def _log_failure(future: Future[Any]) -> None:
    err = future.exception()
    if err is not None:  # the type only: a message could quote the request
        log.error("slack request failed after its acknowledgement: %s", type(err).__name__)


class InProcessBolt:
    """Bolt on a pool of this process's threads."""

    def __init__(self, bolt: BoltApp, threads: int = 8) -> None:
        self.bolt = bolt
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="caseclock-slack")

    def fire(self, body: str, headers: dict[str, str]) -> None:
        """Handle without waiting."""
        self.pool.submit(dispatch, self.bolt, body, headers).add_done_callback(_log_failure)

    async def answer(self, body: str, headers: dict[str, str]) -> SlackAnswer:
        """Handle and return Bolt's answer."""
        return await asyncio.wrap_future(self.pool.submit(dispatch, self.bolt, body, headers))

    def close(self) -> None:
        """Wait for the requests already handed over."""
        self.pool.shutdown(wait=True)


# The worker process's Bolt app, built once by its initializer.
_worker_bolt: BoltApp | None = None


def _start_worker(settings: Settings, scheduler: bool) -> None:
    global _worker_bolt
    from bot.app import build_app
    from bot.transports.slack.listeners import build_slack_app
    from bot.web import log_to_stderr

    log_to_stderr()
    # Ctrl-C at a terminal reaches the whole process group: the server stops gracefully and
    # then closes this worker, which finishes its work first rather than die mid-reply.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Where cores are short, the process that acknowledges comes first: Slack waits on it
    # (3 seconds at most), while nobody waits on this work by the millisecond.
    os.nice(WORKER_NICENESS)
    _exit_with_parent()
    app = build_app(settings)
    # The front door has checked the signature and the 5-minute window; checking again here
    # would refuse commands that waited in the queue behind a burst.
    _worker_bolt = build_slack_app(settings, app.handler, app.directory, verify=False)
    if scheduler:
        from bot.serving import start_scheduler

        start_scheduler(app)


def _exit_with_parent() -> None:
    """Stop when the server process is gone (killed, so it could not close this worker):
    the work queue's pipe never reports it, as this process holds both of its ends."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)  # nobody can hand work here any more, nor read an answer

    threading.Thread(target=watch, daemon=True, name="caseclock-parent-watch").start()


def _in_worker(body: str, headers: dict[str, str]) -> SlackAnswer:
    assert _worker_bolt is not None, "the worker's initializer builds the Bolt app"
    return dispatch(_worker_bolt, body, headers)


def _ping() -> bool:
    return _worker_bolt is not None


class BoltWorker:
    """Bolt (and optionally the reminder scheduler) in one worker process, restarted if it
    dies. Requests reach it in the order they were acknowledged."""

    def __init__(self, settings: Settings, scheduler: bool) -> None:
        self.settings, self.scheduler = settings, scheduler
        self.pool = self._start()

    def _start(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_start_worker,
                                   initargs=(self.settings, self.scheduler))

    def ready(self, timeout: float = 60) -> None:
        """Block until the worker has built its app (so the first command does not wait)."""
        self.pool.submit(_ping).result(timeout)

    def _submit(self, body: str, headers: dict[str, str]) -> Future[SlackAnswer]:
        try:
            return self.pool.submit(_in_worker, body, headers)
        except BrokenProcessPool:
            log.error("the Slack worker process stopped: starting another")
            self.pool = self._start()
            return self.pool.submit(_in_worker, body, headers)

    def fire(self, body: str, headers: dict[str, str]) -> None:
        """Hand over without waiting."""
        self._submit(body, headers).add_done_callback(_log_failure)

    async def answer(self, body: str, headers: dict[str, str]) -> SlackAnswer:
        """Hand over and wait for Bolt's answer."""
        return await asyncio.wrap_future(self._submit(body, headers))

    def close(self) -> None:
        """Let the worker finish what it was given, then stop it."""
        self.pool.shutdown(wait=True)
