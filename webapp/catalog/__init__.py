"""The trial and education-page catalog: database models, loading and exporting."""

# Keeps each trial's packed site points up to date on every write (mapper events).
from . import sites as _sites  # noqa: E402,F401
