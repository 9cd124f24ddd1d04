"""Profiling a source that is not a version (serving data checked against a contract): read on a
worker like a version's source, and nothing stored."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from catalog.pipeline.store import json_safe
from catalog.sources import source_opened
from profiler import api
from profiler.api import Options
from profiler.readers import read_options_parse


def source_profile(
    *,
    uri: str,
    format: str,
    label_column: str = "",
    read_options: dict[str, Any] | None = None,
    task_type: str = "",
    patterns: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The profile of a source already confined (`catalog.services.source_confined`), whole, in this
    process, as plain JSON data without thumbnails; every value of the columns `patterns` names is
    checked with its regular expression. Raises profiler.api.SourceError when it cannot be read."""
    options = Options(
        label_column=label_column or None,
        read_options=read_options_parse(read_options or None),
        task_type=task_type or None,
        patterns=dict(patterns) if patterns else None,
    )
    with source_opened(uri) as files:
        profile = api.profile_plan(api.plan(files, format, options), workers=1)
    return json_safe({key: value for key, value in profile.items() if key != "thumbnails"})
