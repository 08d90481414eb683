"""The import queue (``IMPORT_RUNNER=queue``): RQ through django-rq, on the project's own Redis.

One module owns the engine, as ``locking.py`` owns the lock: the services queue, inspect and cancel
jobs only through these functions, and ``manage.py import_worker`` runs ``ImportWorker``. Why RQ
and not the Tasks API: see docs/operations.md ("Queued imports").

- Queue ``settings.IMPORT_QUEUE`` of ``RQ_QUEUES``; one job per queued session, its id derived from
  the session's uuid, running ``apps.products.tasks.catalog_import_job``.
- Exclusivity is not the queue's business. The import lock is taken when the job is queued, and the
  job's session goes pending → running with a conditional UPDATE: a job delivered twice, or raced
  for by many workers, runs once.
- The worker forks a work horse per job (RQ's default), so an import that dies (OOM, kill -9) takes
  only the horse with it: the worker notices, ends the session failed and frees the lock at once
  (``ImportWorker.handle_work_horse_killed``) and goes on with the next job. When the whole worker
  dies (machine gone), the heartbeat rule of ``locking.py`` notices instead.
"""
from __future__ import annotations

import logging
import os
import signal

import django_rq
from django.conf import settings
from django.db import connections
from redis.exceptions import RedisError
from rq import Worker
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus

logger = logging.getLogger(__name__)

JOB_FUNCTION = "apps.products.tasks.catalog_import_job"
RESULT_TTL = 24 * 3600  # s the finished job stays visible in RQ (the session is the real record)
FAILURE_TTL = 7 * 24 * 3600
# Statuses of a job that will still run (or runs now): its pending session is alive.
_WAITING = {JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED, JobStatus.STARTED}


def _queue():
    # "auto": enqueue now, not at the end of an enclosing transaction — the caller holds the lock
    # for this job and must know at once whether it was queued.
    return django_rq.get_queue(settings.IMPORT_QUEUE, commit_mode="auto")


def import_job_id(session_uuid) -> str:
    return f"catalog-import-{session_uuid}"


def import_job_enqueue(*, job_id: str, session_pk: int, force: bool, description: str) -> None:
    """Queue the job of one pending session. Raises ``RedisError`` when Redis is unreachable."""
    _queue().enqueue_call(
        JOB_FUNCTION, kwargs={"session_pk": session_pk, "force": force}, job_id=job_id,
        timeout=settings.IMPORT_JOB_TIMEOUT, result_ttl=RESULT_TTL, failure_ttl=FAILURE_TTL,
        description=description,
    )


def import_job_is_waiting(job_id: str) -> bool:
    """Will this job still run (or is it running)? A job that failed, was cancelled or vanished
    (Redis flushed or restarted without persistence) will not. Unknown when Redis is down: True."""
    try:
        return Job.fetch(job_id, connection=_queue().connection).get_status() in _WAITING
    except NoSuchJobError:
        return False
    except RedisError:
        logger.warning("could not read import job %s (Redis error)", job_id, exc_info=True)
        return True


def import_job_cancel(job_id: str) -> None:
    """Take a queued job out of the queue. Best effort: a job a worker already took finds its
    session no longer pending and does nothing, whatever happens here."""
    try:
        queue = _queue()
        Job.fetch(job_id, connection=queue.connection).cancel()
    except (NoSuchJobError, InvalidJobOperation):
        pass
    except RedisError:
        logger.warning("could not cancel import job %s (Redis error)", job_id, exc_info=True)


def import_queue_workers() -> list[Worker]:
    """Live workers of the import queue, from RQ's own worker registry. A worker's entry expires
    ``IMPORT_WORKER_TTL`` + 60 s after its last heartbeat, so a dead worker drops out by then.
    Raises ``RedisError``."""
    return Worker.all(queue=_queue())


def import_queue_length() -> int:
    return _queue().count


class ImportWorker(Worker):
    """RQ's forking worker, with what a Django import needs around the fork."""

    def execute_job(self, job, queue):
        # The horse is a fork of this process: a database connection open here would be shared by
        # both (and reused by the next horse). Fork with none open.
        connections.close_all()
        return super().execute_job(job, queue)

    def handle_work_horse_killed(self, job, retpid, ret_val, rusage):
        super().handle_work_horse_killed(job, retpid, ret_val, rusage)
        from .services.catalog_import import catalog_import_worker_lost

        try:
            catalog_import_worker_lost(session_pk=(job.kwargs or {}).get("session_pk"), reason=_death(ret_val))
        except Exception:  # the worker must survive to take the next job; the heartbeat rule remains
            logger.exception("could not record the death of import job %s", job.id)
        finally:
            connections.close_all()


def _death(ret_val) -> str:
    if ret_val is not None and os.WIFSIGNALED(ret_val):
        signum = os.WTERMSIG(ret_val)
        name = signal.Signals(signum).name if signum in signal.Signals._value2member_map_ else str(signum)
        hint = " — kill -9 или нехватка памяти (OOM)" if signum == signal.SIGKILL else ""
        return f"процесс импорта в обработчике очереди убит сигналом {name}{hint}"
    code = os.WEXITSTATUS(ret_val) if ret_val is not None else "?"
    return f"процесс импорта в обработчике очереди завершился с кодом {code}"


def import_worker_run(*, burst: bool = False, name: str | None = None, logging_level: str = "INFO") -> bool:
    """Run a worker of the import queue until stopped (``burst``: until the queue is empty).

    SIGTERM/Ctrl-C once: finish the current import, then exit (RQ's warm shutdown); twice: stop now
    (the import's session ends failed and the lock is freed)."""
    from rq.logutils import setup_loghandlers

    setup_loghandlers(logging_level)
    queue = _queue()
    worker = ImportWorker([queue], connection=queue.connection, name=name, worker_ttl=settings.IMPORT_WORKER_TTL)
    connections.close_all()
    return worker.work(burst=burst, logging_level=logging_level, with_scheduler=False)
