#!/usr/bin/env python
"""Fire N simultaneous "run import" POSTs at a running admin and count how many imports ran (must be 1).

It starts no server: point it at one (runserver, gunicorn) that uses the same settings, database
and Redis as this process — the sessions are counted in that database. It logs in as a user who
may run imports, gives each request its own cookie jar (so each reads back its own message), lines
all requests up on a barrier and posts them at once, as the "run import" button does (with the CSRF
token). Then it reports what each request was told and which ImportSession rows appeared, and
checks that no two of those sessions overlapped in time.

    DJANGO_SETTINGS_MODULE=freesport.settings.dev DATABASE_URL=… REDIS_URL=… ONEC_DATA_DIR=… \\
        .venv/bin/python benchmarks/stress_trigger.py [--url http://127.0.0.1:8000] [-n 20] \\
        [--username admin] [--password admin12345]

Exit status 0 when exactly one import ran, 1 otherwise. The import must last longer than it takes
the server to answer the others (a package of a few thousand products is plenty); a request that
reaches the server after the import finished may legitimately start a second, non-overlapping one,
which the report says.
"""
from __future__ import annotations

import argparse
import copy
import os
import re
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import urlencode, urljoin
from urllib.request import HTTPCookieProcessor, HTTPRedirectHandler, Request, build_opener

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "backend"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "freesport.settings.dev")

CHANGELIST = "/admin/products/importsession/"
ACTION = "trigger_catalog_import"
ALERT = re.compile(r'class="alert alert-(success|warning|danger|info)[^"]*"[^>]*>\s*<i[^>]*></i>\s*([^<]*)')


class _NoRedirect(HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # hand the 302 back, to read its own message on a GET of our choosing


def _opener(jar: CookieJar, follow: bool = True):
    handlers = [HTTPCookieProcessor(jar)] + ([] if follow else [_NoRedirect()])
    return build_opener(*handlers)


def _cookie(jar: CookieJar, name: str) -> str | None:
    return next((c.value for c in jar if c.name == name), None)


def login(base: str, username: str, password: str) -> CookieJar:
    jar = CookieJar()
    opener = _opener(jar)
    url = urljoin(base, "/admin/login/")
    opener.open(url, timeout=30).read()
    data = urlencode({"username": username, "password": password, "next": "/admin/",
                      "csrfmiddlewaretoken": _cookie(jar, "csrftoken")}).encode()
    opener.open(Request(url, data=data, headers={"Referer": url}), timeout=30).read()
    if not _cookie(jar, "sessionid"):
        sys.exit(f"login as {username!r} at {url} failed")
    return jar


def _copy(jar: CookieJar) -> CookieJar:
    clone = CookieJar()
    for cookie in jar:
        clone.set_cookie(copy.copy(cookie))
    return clone


@dataclass
class Outcome:
    status: int = 0
    message: str = ""
    level: str = ""
    sent: float = 0.0
    error: str = ""


def fire(base: str, jar: CookieJar, barrier: threading.Barrier, outcome: Outcome) -> None:
    jar = _copy(jar)  # its own messages cookie
    url = urljoin(base, CHANGELIST)
    data = urlencode({"action": ACTION, "csrfmiddlewaretoken": _cookie(jar, "csrftoken")}).encode()
    request = Request(url, data=data, headers={"Referer": url})
    try:
        barrier.wait(60)
        outcome.sent = time.time()
        try:
            response = _opener(jar, follow=False).open(request, timeout=3600)
            outcome.status = response.status
        except HTTPError as exc:  # the 302 arrives here, as does a 403/500
            outcome.status = exc.code
        if outcome.status == 302:
            page = _opener(jar).open(url, timeout=60).read().decode()
            found = ALERT.search(page)
            if found:
                outcome.level, outcome.message = found.group(1), " ".join(found.group(2).split())
    except Exception as exc:  # reported, never lost in a thread
        outcome.error = f"{exc.__class__.__name__}: {exc}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("-n", "--requests", type=int, default=20)
    parser.add_argument("--username", default=os.environ.get("DEMO_ADMIN_USER", "admin"))
    parser.add_argument("--password", default=os.environ.get("DEMO_ADMIN_PASSWORD", "admin12345"))
    args = parser.parse_args()

    import django

    django.setup()
    from django.db.models import Max

    from apps.products.locking import import_lock_holder
    from apps.products.models import ImportSession

    if import_lock_holder():
        print("the import lock is taken before the run; wait for that import to finish", file=sys.stderr)
        return 2
    last_id = ImportSession.objects.aggregate(last=Max("id"))["last"] or 0

    jar = login(args.url, args.username, args.password)
    barrier = threading.Barrier(args.requests)
    outcomes = [Outcome() for _ in range(args.requests)]
    threads = [threading.Thread(target=fire, args=(args.url, jar, barrier, o)) for o in outcomes]
    started = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.time() - started

    sessions = list(ImportSession.objects.filter(id__gt=last_id).order_by("started_at"))
    overlapping = [(a, b) for a, b in zip(sessions, sessions[1:])
                   if a.finished_at is None or b.started_at < a.finished_at]
    sent = [o.sent for o in outcomes if o.sent]

    print(f"server: {args.url}   requests: {args.requests}   wall time: {elapsed:.2f} s")
    print(f"requests sent within {max(sent) - min(sent):.3f} s of each other" if sent else "no request was sent")
    for (status, level, message, error), count in Counter(
            (o.status, o.level, o.message, o.error) for o in outcomes).most_common():
        print(f"  {count:3d} × HTTP {status} {level or ''} {message or ''}{error}".rstrip())
    for s in sessions:
        took = (s.finished_at - s.started_at).total_seconds() if s.finished_at else float("nan")
        print(f"  session {s.session_id}: {s.status}, source={s.source}, {s.processed_items}/{s.total_items} "
              f"items, {took:.2f} s")
    print(f"imports started: {len(sessions)} of {args.requests} requests; overlapping imports: {len(overlapping)}")
    return 0 if len(sessions) == 1 and not overlapping else 1


if __name__ == "__main__":
    sys.exit(main())
