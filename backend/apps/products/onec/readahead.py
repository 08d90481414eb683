"""Read ahead: parse the next batches in a thread while the main thread waits on the database.

Parsing is CPU work in this process; writing is mostly waiting for PostgreSQL, on the other core.
Done in turn, the two add up. With the reader one bounded queue ahead they overlap: the GIL is
released while psycopg waits on its socket. The queue holds at most ``READ_AHEAD`` batches, so
memory stays flat. Only the main thread touches the database.
"""
from __future__ import annotations

import queue
import threading
from typing import Iterator

from .layout import Package, PackageFile
from .reader import read_file
from .records import Item, Section

READ_AHEAD = 3  # batches parsed ahead of the writer
_DONE = object()


class _Stopped(Exception):
    """The consumer went away (it failed or finished early): the reader stops."""


def read_batches(package: Package, *, batch_size: int) -> Iterator[tuple[PackageFile, Section | list[Item]]]:
    """``(file, section)`` and ``(file, batch)`` in document order; a batch holds records of one type."""
    channel: queue.Queue = queue.Queue(maxsize=READ_AHEAD)
    stop = threading.Event()

    def put(item) -> None:
        while not stop.is_set():
            try:
                channel.put(item, timeout=0.1)  # wakes up to notice ``stop``
                return
            except queue.Full:
                continue
        raise _Stopped

    def produce() -> None:
        try:
            for pf in package.files:
                batch: list[Item] = []
                for rec in read_file(pf, package.data_dir):
                    if isinstance(rec, Section):
                        put((pf, rec))
                    else:
                        if batch and (type(rec) is not type(batch[0]) or len(batch) >= batch_size):
                            put((pf, batch))
                            batch = []
                        batch.append(rec)
                if batch:
                    put((pf, batch))
            put(_DONE)
        except _Stopped:
            pass
        except BaseException as exc:  # handed to the consumer, which raises it
            try:
                put(exc)
            except _Stopped:
                pass

    reader = threading.Thread(target=produce, name="1c-reader", daemon=True)
    reader.start()
    try:
        while (item := channel.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        reader.join()
