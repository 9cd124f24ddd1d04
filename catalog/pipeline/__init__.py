"""The worker side of the catalog: profiling a version (whole, or in partitions merged after), storing
its profile with drift, and verifying its source. Plain functions on ids; the Celery tasks that run
them are in `catalog.tasks`, and nothing here knows Celery or the request side."""

from catalog.pipeline.profiling import (
    PartsDispatch,
    version_fail,
    version_merge_parts,
    version_profile,
    version_profile_part,
)
from catalog.pipeline.sources import source_profile
from catalog.pipeline.store import json_safe
from catalog.pipeline.verify import version_verify

__all__ = [
    "PartsDispatch",
    "json_safe",
    "source_profile",
    "version_fail",
    "version_merge_parts",
    "version_profile",
    "version_profile_part",
    "version_verify",
]
