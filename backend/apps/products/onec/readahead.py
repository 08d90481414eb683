"""Read ahead: parse the next batches while the main thread writes the previous ones.

Parsing is CPU work; writing is Python work plus waiting for PostgreSQL. Done in turn, they add up.
The reader runs one bounded queue ahead of the writer — in a thread for small packages, in its own
process for big ones, where the GIL would otherwise serialise parsing and the writer's own Python
work (10k products on PostgreSQL: 11.5 s in turn, 8.9 s with the thread; see benchmarks/README.md).
The queue holds at most ``READ_AHEAD`` batches, so memory stays flat. Only the main process touches
the database.
"""
from __future__ import annotations

import multiprocessing
import queue
import threading
from typing import Callable, Iterator

from .layout import Package, PackageFile
from .reader import read_file
from .records import Item, Section

READ_AHEAD = 4  # batches parsed ahead of the writer
# Above this many bytes of XML the reader gets its own process; below, its ~0.15 s start-up costs more.
PROCESS_READER_BYTES = 64 * 1024 * 1024
_DONE = "done"


class _Stopped(Exception):
    """The consumer went away (it failed or finished early): the reader stops."""


def _produce(package: Package, batch_size: int, put: Callable[[object], None]) -> None:
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


def _process_main(package: Package, batch_size: int, channel) -> None:
    _produce(package, batch_size, channel.put)  # blocks while the queue is full; killed if unwanted


def read_batches(package: Package, *, batch_size: int) -> Iterator[tuple[PackageFile, Section | list[Item]]]:
    """``(file, section)`` and ``(file, batch)`` in document order; a batch holds records of one type."""
    if package.size >= PROCESS_READER_BYTES:
        yield from _from_process(package, batch_size)
    else:
        yield from _from_thread(package, batch_size)


def _consume(get: Callable[[], object]) -> Iterator:
    while (item := get()) != _DONE:
        if isinstance(item, BaseException):
            raise item
        yield item


def _from_thread(package: Package, batch_size: int) -> Iterator:
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

    reader = threading.Thread(target=_produce, args=(package, batch_size, put), name="1c-reader", daemon=True)
    reader.start()
    try:
        yield from _consume(channel.get)
    finally:
        stop.set()
        reader.join()


def _from_process(package: Package, batch_size: int) -> Iterator:
    # "spawn": this process has threads (the lock keeper) that fork must not copy.
    ctx = multiprocessing.get_context("spawn")
    channel = ctx.Queue(maxsize=READ_AHEAD)
    reader = ctx.Process(target=_process_main, args=(package, batch_size, channel), name="1c-reader", daemon=True)
    reader.start()
    try:
        yield from _consume(channel.get)
    finally:
        if reader.is_alive():
            reader.terminate()  # the writer failed or stopped early: the rest is not wanted
        reader.join()
        channel.close()
