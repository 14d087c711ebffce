"""Each study's located sites, kept packed beside its registry locations (`Trial.site_points`).

Building the catalog index then reads a few bytes per site instead of parsing every location
of every study (at 100,000 studies, about 100 MB of JSON). The points are only a cache of
`sites_from(locations, status)`: each value starts with a stamp of its format and of the ZIP
table it was worked out with, and a missing or stale value is worked out again from the
locations when the index is built. Every ORM write of a trial's locations or status keeps them
up to date (the mapper events below); an ORM bulk UPDATE of trials clears them (they are worked
out again at the next build); a Core insert passes `site_points_for(...)` itself.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from functools import lru_cache
from importlib import resources
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, attributes

from ..core.places import SITE_RECORD, pack_sites, sites_from
from .models import Trial

FORMAT = b"TCS1"


@lru_cache(maxsize=1)
def stamp() -> bytes:
    """The format, and a checksum of the ZIP table the points were worked out with."""
    data = resources.files("webapp.geo").joinpath("data", "zips.tsv.gz").read_bytes()
    return FORMAT + zlib.crc32(data).to_bytes(4, "little")


def zip_point(zip_code: str) -> tuple[float, float] | None:
    """A U.S. ZIP code's coordinates, from the offline tables."""
    from ..geo import zip_table

    place = zip_table().find(zip_code)
    return (place.lat, place.lon) if place else None


def site_points_for(locations: Sequence[Mapping[str, Any]] | None, status: str) -> bytes:
    return stamp() + pack_sites(sites_from(locations, status, zip_point))


def stored_records(value: bytes | memoryview | None) -> memoryview | None:
    """The packed sites of a stored value (a view of it, not a copy), or None when it is
    missing, stale or not whole. (PostgreSQL's driver gives a memoryview, SQLite's bytes.)"""
    if value is None:
        return None
    view = memoryview(value).cast("B")
    head = len(stamp())
    if view[:head] != stamp():
        return None
    records = view[head:]
    return records if len(records) % SITE_RECORD.itemsize == 0 else None


@event.listens_for(Trial, "before_insert")
def _points_on_insert(mapper: Any, connection: Any, trial: Trial) -> None:
    trial.site_points = site_points_for(trial.locations, trial.status)


@event.listens_for(Trial, "before_update")
def _points_on_update(mapper: Any, connection: Any, trial: Trial) -> None:
    state = attributes.instance_state(trial)
    changed = any(attributes.get_history(trial, key).has_changes() for key in ("locations", "status"))
    # (A deferred value never loaded is left as it is.)
    if changed or ("site_points" in state.dict and trial.site_points is None):
        trial.site_points = site_points_for(trial.locations, trial.status)


@event.listens_for(Session, "do_orm_execute")
def _points_on_bulk_update(execute_state: ORMExecuteState) -> None:
    # `update(Trial).values(...)` runs no mapper event: what it changes cannot be known here, so
    # the points it may leave stale are cleared.
    mapper = execute_state.bind_mapper
    if (execute_state.is_update and mapper is not None and mapper.class_ is Trial
            and not isinstance(execute_state.parameters, list)):
        execute_state.statement = execute_state.statement.values(site_points=None)
