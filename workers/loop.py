"""A background thread repeating one unit of work: at once while there is more, else after
a pause; errors (the database or broker going away) are logged and tried again later."""

from __future__ import annotations

import threading

import structlog

log = structlog.get_logger(__name__)


class Loop:
    name = "loop"

    def __init__(self, *, idle_seconds: float) -> None:
        self.idle_seconds = idle_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def once(self) -> bool:
        """Do one unit of work; True when more is waiting (run again at once)."""
        raise NotImplementedError

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                more = self.once()
            except Exception:  # the database or broker is down: try again shortly
                if self._stop.is_set():  # shutting down: the engine is being closed
                    break
                log.exception(f"{self.name}.error")
                more = False
            if not more and not self._stop.is_set():
                self.pause()

    def pause(self) -> None:
        """Wait before the next unit of work (returns early when stopped)."""
        self._stop.wait(self.idle_seconds)

    def interrupt(self) -> None:
        """Wake :meth:`pause` up at once (called by :meth:`stop`, from another thread)."""

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.interrupt()
        if self._thread is not None:
            self._thread.join(30)
