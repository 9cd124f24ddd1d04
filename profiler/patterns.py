"""Regular expressions checked on every value while a source is profiled.

A caller (the catalog, for a dataset whose contract gives features a `pattern`) names a regular
expression per column in `Options.patterns`. Each part of the profile counts, for each such column,
the values it checked and those that do not match the whole expression (Python's `re.fullmatch`, on
the value's text as the row sample shows it: `str` of its JSON value), and keeps the smallest few
that do not match. The counts add and the examples merge (the smallest of both), so the parts of a
source merged give exactly what the whole source gives, whatever the order.

The work per value is bounded two ways: an expression that could take exponential time on a
backtracking matcher (a repeat inside a repeat, alternatives inside one, a back-reference) is refused
(`pattern_risk`), and a value longer than MAX_VALUE_LENGTH characters is not matched but counted
`unchecked`. Each distinct value of a batch is matched once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from profiler.values import jsonable

# Values longer than this many characters are counted unchecked, not matched.
MAX_VALUE_LENGTH = 4_096
# The longest expression a column is checked with.
MAX_PATTERN_LENGTH = 256
# Values not matching kept per column, the smallest first, each cut to EXAMPLE_LENGTH characters.
EXAMPLES_KEPT = 5
EXAMPLE_LENGTH = 80

_REPEATS = ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")


def pattern_risk(parsed: Any, inside_repeat: bool = False) -> str | None:
    """Why a parsed pattern (`re._parser.parse`) could take exponential time to match (a repeat
    inside an unbounded repeat, an alternative inside one, a back-reference), or None. Patterns run
    on the data's values, so they are held to what a backtracking matcher does in time linear in the
    value, or nearly so."""
    for op, argument in parsed:
        name = str(op)
        if name in ("GROUPREF", "GROUPREF_EXISTS"):
            return "Back-references are not allowed in a contract's pattern."
        children: list[Any] = []
        repeats = False  # whether this node repeats what is inside it
        if name in _REPEATS:
            _low, high, child = argument
            repeats = high > 1
            if inside_repeat and repeats:
                return "A repeat inside a repeat can take exponential time; write the pattern without nesting."
            children = [child]
        elif name == "SUBPATTERN":
            children = [argument[-1]]
        elif name == "BRANCH":
            if inside_repeat:
                return "Alternatives inside a repeat can take exponential time; use a character class instead."
            children = list(argument[1])
        elif name in ("ASSERT", "ASSERT_NOT"):
            children = [argument[1]]
        elif name == "ATOMIC_GROUP":
            children = [argument]
        for child in children:
            problem = pattern_risk(child, inside_repeat or repeats)
            if problem:
                return problem
    return None


def pattern_problem(pattern: str) -> str | None:
    """Why `pattern` cannot be checked on a column's values (not a regular expression, too long, or
    at risk of exponential time), or None."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        return f"At most {MAX_PATTERN_LENGTH} characters."
    if "\x00" in pattern:
        return "A NUL character is not allowed."
    try:
        parsed = sre_parse.parse(pattern)
        re.compile(pattern)
    except (re.error, RecursionError, OverflowError) as error:
        return f"Not a regular expression: {error}."
    return pattern_risk(parsed)


def value_text(value: Any) -> str | None:
    """The text a value is matched as: a string as itself, anything else as its JSON value's `str`
    (1.5 as "1.5", true as "True"), as the stored row sample holds it; None for a missing one (NaN)."""
    if isinstance(value, str):
        return value
    plain = jsonable(value)
    return None if plain is None else str(plain)


@dataclass
class PatternCount:
    """What a column's values said of one expression: how many were matched (`checked`), how many of
    those do not match (`mismatched`), how many were too long to match (`unchecked`), and the
    smallest few of those not matching. `error` says why the expression was not checked at all."""

    regex: str
    checked: int = 0
    mismatched: int = 0
    unchecked: int = 0
    examples: list[str] = field(default_factory=list)
    error: str | None = None

    def add(self, values: list[Any], counts: list[int]) -> None:
        """Count distinct values of a batch, each `counts` times (nulls are not values)."""
        if self.error is not None:
            return
        matcher = re.compile(self.regex)
        failing: set[str] = set()
        for value, count in zip(values, counts, strict=True):
            text = value_text(value)
            if text is None:
                continue
            if len(text) > MAX_VALUE_LENGTH:
                self.unchecked += count
                continue
            self.checked += count
            if matcher.fullmatch(text) is None:
                self.mismatched += count
                failing.add(text[:EXAMPLE_LENGTH])
        if failing:
            self.examples = sorted(set(self.examples) | failing)[:EXAMPLES_KEPT]

    def merge(self, other: PatternCount) -> None:
        if other.regex != self.regex:
            raise ValueError(f"Counts of {self.regex!r} and {other.regex!r} do not merge.")
        self.checked += other.checked
        self.mismatched += other.mismatched
        self.unchecked += other.unchecked
        self.examples = sorted(set(self.examples) | set(other.examples))[:EXAMPLES_KEPT]
        self.error = self.error or other.error

    def as_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "regex": self.regex,
            "checked": self.checked,
            "mismatched": self.mismatched,
            "unchecked": self.unchecked,
            "examples": list(self.examples),
        }
        if self.error is not None:
            data["error"] = self.error
        return data

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> PatternCount:
        return cls(
            regex=data["regex"],
            checked=int(data["checked"]),
            mismatched=int(data["mismatched"]),
            unchecked=int(data["unchecked"]),
            examples=list(data["examples"]),
            error=data.get("error"),
        )


def pattern_count(regex: str) -> PatternCount:
    """An empty count of `regex`; one that cannot be checked says why in `error`."""
    return PatternCount(regex=regex, error=pattern_problem(regex))


def distinct_counts(array: pa.Array) -> tuple[list[Any], list[int]]:
    """A column's distinct present values and how often each occurs."""
    present = array.drop_null()
    if not len(present):
        return [], []
    counted = pc.value_counts(present)
    return counted.field("values").to_pylist(), counted.field("counts").to_pylist()
