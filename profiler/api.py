"""The engine as a caller uses it: plan a source once, profile its parts, finish the profile.

    planned = plan(files, "csv", Options(label_column="label"))
    parts = [profile_part(planned, index) for index in range(len(planned.partitions))]
    profile = finish(planned, parts)

The parts may run anywhere that reads the same files: `planned.as_data()` is JSON, and
`Plan.from_data` makes the plan again where a part runs, so no part plans the source itself. Each
part is the bytes of a partial profile; `finish` merges them in their order. `profile` does all of
it in this process (or in a pool of processes), and `profile_plan` does it for a plan already made.
"""

from __future__ import annotations

from collections.abc import Sequence

from profiler import engine
from profiler.files import LabelColumnMissing, SourceError, SourceFile
from profiler.plan import Options, Plan
from profiler.result import FeatureProfile, Finding, Profile, Quality

__all__ = [
    "FeatureProfile",
    "Finding",
    "LabelColumnMissing",
    "Options",
    "Plan",
    "Profile",
    "Quality",
    "SourceError",
    "finish",
    "plan",
    "profile",
    "profile_part",
    "profile_plan",
]


def plan(files: Sequence[SourceFile], format: str, options: Options | None = None) -> Plan:
    """The plan of a source: its partitions, its label column, the dialect of delimited text, and
    the options its parts are profiled with. Raises SourceError (LabelColumnMissing for a declared
    label that is not a column) when the source cannot be profiled, or a declared split holds none
    of its files."""
    planned = engine.plan_with(files, format, options or Options())
    engine.split_names_of(planned)  # every declared split holds files
    return planned


def profile_part(planned: Plan, index: int) -> bytes:
    """The partial profile of the plan's partition `index`, as bytes for `finish`."""
    return engine.profile_part(planned, index)


def finish(planned: Plan, parts: Sequence[bytes]) -> Profile:
    """The profile of the source from the parts of every partition of its plan, in their order."""
    return engine.finish(planned, parts)


def profile_plan(planned: Plan, *, workers: int | None = None) -> Profile:
    """The profile of a planned source, profiled here: in `workers` processes (default: every core)."""
    return engine.profile_plan(planned, workers=workers)


def profile(
    files: Sequence[SourceFile], format: str, options: Options | None = None, *, workers: int | None = None
) -> Profile:
    """The profile of a source's files, profiled here: planned once, then as `profile_plan`."""
    return profile_plan(plan(files, format, options), workers=workers)
