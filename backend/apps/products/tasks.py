"""Jobs the import queue's workers run (see ``import_queue.py``). Thin callers of one service each."""
from __future__ import annotations


def catalog_import_job(*, session_pk: int, force: bool = False) -> str:
    """Run the queued import of session ``session_pk``; returns how it ended (RQ keeps it as the result)."""
    from django.db import connections

    from .services.catalog_import import catalog_import_run_queued

    try:
        session = catalog_import_run_queued(session_pk=session_pk, force=force)
        return session.status if session is not None else "not run: no longer pending"
    finally:
        connections.close_all()  # the work horse exits without closing them
