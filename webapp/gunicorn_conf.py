"""gunicorn settings for serving Trial Check: `gunicorn -c python:webapp.gunicorn_conf ...`.

- The access log leaves out what a patient page's address says: "/es/questions/cp_pain_duration"
  means chronic pancreatitis, "/en/results/group/unlikely" says which results a person opened,
  "/s/<code>" which clinic's flyer they came from. Those lines show the language and "…".
  Referers are left out for the same reason.
- Each worker builds the catalog index and loads the place tables before it serves, so no
  patient request waits for them.
- The workers are told how many there are, so the app can warn at start-up when sign-in limits
  are kept in each worker's memory (RATELIMIT_STORAGE_URI=memory://): with several workers each
  counts on its own, and the limit no longer holds.
"""

from __future__ import annotations

import os
import re
from typing import Any

from gunicorn.glogging import Logger

# TRIALCHECK_ACCESS_LOG="" turns the access log off (the benchmark), a path sends it there.
accesslog = os.environ.get("TRIALCHECK_ACCESS_LOG", "-") or None
logger_class = "webapp.gunicorn_conf.PrivateAccessLogger"

PATIENT_PATH = re.compile(r"^/(?:(?P<lang>[a-z]{2})(?:/|$)|s/)")


def private_path(path: str) -> str:
    match = PATIENT_PATH.match(path or "")
    if not match:
        return path
    return f"/{match.group('lang')}/…" if match.group("lang") else "/s/…"


class PrivateAccessLogger(Logger):
    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        path = environ.get("PATH_INFO", "")
        redacted = private_path(path)
        if redacted != path:
            atoms["U"] = redacted
            atoms["q"] = ""
            atoms["r"] = f"{environ.get('REQUEST_METHOD', '-')} {redacted} {environ.get('SERVER_PROTOCOL', '-')}"
        atoms["f"] = "-"
        return atoms


def post_worker_init(worker: Any) -> None:
    # Each worker builds its catalog index and loads the place tables before its first request.
    from webapp.catalog.snapshot import warm_up

    warm_up(worker.wsgi)


def worker_exit(server: Any, worker: Any) -> None:
    # The verdict counts tallied since the refresher last wrote them.
    from webapp.sharing.service import write_verdict_counts

    app = getattr(worker, "wsgi", None)
    if app is not None and hasattr(app, "app_context"):
        with app.app_context():
            write_verdict_counts()


def on_starting(server: Any) -> None:
    # Inherited by the workers, which read it when the app is created.
    os.environ["TRIALCHECK_WORKERS"] = str(server.cfg.workers)
