"""A dataset's contract on plain facts: no database, no Django.

Three things, each a function of plain data:

- `contract_parsed` reads a contract document as a client sends it and answers its normal form, or
  raises `ContractInvalid` naming the field at fault;
- `contract_anomalies` checks a profile (the facts a version's stored profile holds: its features'
  statistics and counted values, its quality block, its row sample) and, when the contract names a
  reference version, the drift from it, and answers the anomalies; nothing here reads the data;
- `contract_inferred` proposes a contract from a profile, with slack (see INFERENCE).

Anomaly codes (DESIGN §10), after TFDV's anomaly list:

    new_feature        a feature the contract does not name (warning: the contract still passes)
    missing_feature    a feature the contract names is not in the data
    type_changed       the feature's logical type is not one the contract allows
    not_unique         a feature declared unique has repeated values
    out_of_range       the smallest or largest value is outside [min, max]
    unexpected_values  the share of values outside the allowed ones is above max_outside_share
    null_fraction      more missing values than max_null_fraction (or any, for a required feature)
    length             a string shorter than min_length or longer than max_length
    pattern            values that do not match the regular expression (whole, as re.fullmatch):
                       every value, counted while the version was profiled (the catalog hands the
                       contract's patterns to the profiler); a version profiled without the pattern
                       is checked on its stored row sample, and the anomaly says so. Values longer
                       than PATTERN_VALUE_LENGTH are not matched: counted unchecked (a warning)
    row_count          fewer rows than min_rows or more than max_rows
    duplicate_share    the share of duplicate rows is above max_duplicate_share
    unexpected_classes label classes the contract does not list
    class_share        a listed class is rarer than min_class_share (or absent)
    label_conflicts    the share of rows in label conflicts is above max_label_conflict_share
    split_leakage      rows shared between splits, when the contract says no_split_leakage
    drift              a drift metric against the reference version above its limit
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from profiler import drift, patterns

ENFORCEMENTS = ("warn", "block")
LOGICAL_TYPES = ("numeric", "categorical", "boolean", "datetime", "text", "identifier", "constant")
DRIFT_METRICS = tuple(drift.THRESHOLDS)
MAX_FEATURES = 2_000
MAX_ALLOWED_VALUES = 1_000
MAX_CLASSES = 1_000
MAX_NAME_LENGTH = 1_024
MAX_VALUE_LENGTH = 1_024
MAX_PATTERN_LENGTH = patterns.MAX_PATTERN_LENGTH
# Values longer than this are not matched: they are counted unchecked.
PATTERN_VALUE_LENGTH = patterns.MAX_VALUE_LENGTH

FEATURE_KEYS = (
    "name",
    "logical_type",
    "required",
    "unique",
    "min",
    "max",
    "allowed_values",
    "max_outside_share",
    "max_null_fraction",
    "min_length",
    "max_length",
    "pattern",
    "max_drift",
)
DATASET_KEYS = (
    "min_rows",
    "max_rows",
    "max_duplicate_share",
    "classes",
    "min_class_share",
    "max_label_conflict_share",
    "no_split_leakage",
)
CONTRACT_KEYS = ("enforcement", "reference_version", "features", "dataset")

ERROR, WARNING = "error", "warning"

CODES = (
    "new_feature",
    "missing_feature",
    "type_changed",
    "not_unique",
    "out_of_range",
    "unexpected_values",
    "null_fraction",
    "length",
    "pattern",
    "row_count",
    "duplicate_share",
    "unexpected_classes",
    "class_share",
    "label_conflicts",
    "split_leakage",
    "drift",
)


class ContractInvalid(ValueError):
    """A contract document that cannot be accepted; `field` is the dotted path of the input at fault."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


# --- Reading a contract ---------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _object(value: Any, where: str, allowed: Sequence[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ContractInvalid("Expected an object.", field=where)
    unknown = sorted(str(key) for key in value if key not in allowed)
    if unknown:
        raise ContractInvalid(
            f"Unknown key {unknown[0]!r}; the keys are {', '.join(allowed)}.", field=f"{where}.{unknown[0]}"
        )
    return value


def _boolean(value: Any, where: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ContractInvalid("Expected true or false.", field=where)
    return value


def _share(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if not _is_number(value) or not 0 <= value <= 1:
        raise ContractInvalid("Expected a share: a number from 0 to 1.", field=where)
    return float(value)


def _count(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value > 2**62:
        raise ContractInvalid("Expected a whole number, 0 or more.", field=where)
    return value


def _text(value: Any, where: str, *, limit: int = MAX_VALUE_LENGTH) -> str:
    if not isinstance(value, str):
        raise ContractInvalid("Expected a string.", field=where)
    if "\x00" in value:
        raise ContractInvalid("A NUL character is not allowed.", field=where)
    if len(value) > limit:
        raise ContractInvalid(f"At most {limit} characters.", field=where)
    return value


def _bound(value: Any, where: str) -> int | float | str | None:
    """A range bound: a number, or a string (dates and times, compared as ISO 8601 text)."""
    if value is None:
        return None
    if _is_number(value):
        return value
    if isinstance(value, str):
        return _text(value, where, limit=64)
    raise ContractInvalid("Expected a number (or an ISO 8601 date or time as a string).", field=where)


def _scalar(value: Any, where: str) -> Any:
    if isinstance(value, str):
        return _text(value, where)
    if value is None or isinstance(value, bool) or _is_number(value):
        return value
    raise ContractInvalid("Expected a string, a number, true, false or null.", field=where)


def _values(value: Any, where: str, limit: int) -> list[Any] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise ContractInvalid("Expected a list.", field=where)
    if len(value) > limit:
        raise ContractInvalid(f"At most {limit} values.", field=where)
    items = [_scalar(item, f"{where}.{index}") for index, item in enumerate(value)]
    keys = [value_key(item) for item in items]
    if len(set(keys)) != len(keys):
        raise ContractInvalid("Each value once.", field=where)
    return items


def _pattern(value: Any, where: str) -> str | None:
    if value is None:
        return None
    text = _text(value, where, limit=MAX_PATTERN_LENGTH)
    problem = patterns.pattern_problem(text)
    if problem:
        raise ContractInvalid(problem, field=where)
    return text


def _max_drift(value: Any, where: str) -> dict[str, float]:
    if value is None:
        return {}
    limits = _object(value, where, DRIFT_METRICS)
    parsed: dict[str, float] = {}
    for metric, limit in limits.items():
        if not _is_number(limit) or limit < 0:
            raise ContractInvalid("Expected a limit: a number, 0 or more.", field=f"{where}.{metric}")
        parsed[metric] = float(limit)
    return parsed


def _ordered(low: Any, high: Any, where: str, low_name: str, high_name: str) -> None:
    if low is None or high is None:
        return
    if _is_number(low) != _is_number(high):
        raise ContractInvalid(f"{low_name} and {high_name} must both be numbers or both strings.", field=where)
    if low > high:
        raise ContractInvalid(f"{low_name} must not be above {high_name}.", field=where)


def _feature(value: Any, where: str) -> dict[str, Any]:
    raw = _object(value, where, FEATURE_KEYS)
    if "name" not in raw:
        raise ContractInvalid("Every feature has a name.", field=f"{where}.name")
    logical = raw.get("logical_type")
    if logical is not None:
        listed = logical if isinstance(logical, list) else [logical]
        if not listed or len(listed) > len(LOGICAL_TYPES):
            raise ContractInvalid("Name one logical type or a list of them.", field=f"{where}.logical_type")
        for index, item in enumerate(listed):
            if item not in LOGICAL_TYPES:
                raise ContractInvalid(
                    f"One of {', '.join(LOGICAL_TYPES)}.",
                    field=f"{where}.logical_type" + (f".{index}" if isinstance(logical, list) else ""),
                )
        logical = sorted(set(listed)) if isinstance(logical, list) else logical
    parsed = {
        "name": _text(raw["name"], f"{where}.name", limit=MAX_NAME_LENGTH),
        "logical_type": logical,
        "required": _boolean(raw.get("required"), f"{where}.required"),
        "unique": _boolean(raw.get("unique"), f"{where}.unique"),
        "min": _bound(raw.get("min"), f"{where}.min"),
        "max": _bound(raw.get("max"), f"{where}.max"),
        "allowed_values": _values(raw.get("allowed_values"), f"{where}.allowed_values", MAX_ALLOWED_VALUES),
        "max_outside_share": _share(raw.get("max_outside_share"), f"{where}.max_outside_share"),
        "max_null_fraction": _share(raw.get("max_null_fraction"), f"{where}.max_null_fraction"),
        "min_length": _count(raw.get("min_length"), f"{where}.min_length"),
        "max_length": _count(raw.get("max_length"), f"{where}.max_length"),
        "pattern": _pattern(raw.get("pattern"), f"{where}.pattern"),
        "max_drift": _max_drift(raw.get("max_drift"), f"{where}.max_drift"),
    }
    _ordered(parsed["min"], parsed["max"], f"{where}.min", "min", "max")
    _ordered(parsed["min_length"], parsed["max_length"], f"{where}.min_length", "min_length", "max_length")
    if parsed["max_outside_share"] is not None and parsed["allowed_values"] is None:
        raise ContractInvalid("max_outside_share needs allowed_values.", field=f"{where}.max_outside_share")
    return parsed


def _dataset(value: Any) -> dict[str, Any]:
    raw = _object({} if value is None else value, "dataset", DATASET_KEYS)
    parsed = {
        "min_rows": _count(raw.get("min_rows"), "dataset.min_rows"),
        "max_rows": _count(raw.get("max_rows"), "dataset.max_rows"),
        "max_duplicate_share": _share(raw.get("max_duplicate_share"), "dataset.max_duplicate_share"),
        "classes": _values(raw.get("classes"), "dataset.classes", MAX_CLASSES),
        "min_class_share": _share(raw.get("min_class_share"), "dataset.min_class_share"),
        "max_label_conflict_share": _share(raw.get("max_label_conflict_share"), "dataset.max_label_conflict_share"),
        "no_split_leakage": _boolean(raw.get("no_split_leakage"), "dataset.no_split_leakage"),
    }
    _ordered(parsed["min_rows"], parsed["max_rows"], "dataset.min_rows", "min_rows", "max_rows")
    return parsed


def contract_parsed(document: Any) -> dict[str, Any]:
    """The normal form of a contract document (every key present, unset ones null), or ContractInvalid."""
    raw = _object(document, "contract", CONTRACT_KEYS)
    enforcement = raw.get("enforcement", "warn")
    if enforcement not in ENFORCEMENTS:
        raise ContractInvalid("Either warn or block.", field="enforcement")
    reference = raw.get("reference_version")
    if reference is not None and (not isinstance(reference, int) or isinstance(reference, bool) or reference < 1):
        raise ContractInvalid("The number of a version of the dataset (1 or more).", field="reference_version")
    features_raw = raw.get("features", [])
    if not isinstance(features_raw, list):
        raise ContractInvalid("Expected a list of features.", field="features")
    if len(features_raw) > MAX_FEATURES:
        raise ContractInvalid(f"At most {MAX_FEATURES} features.", field="features")
    features = [_feature(item, f"features.{index}") for index, item in enumerate(features_raw)]
    seen: set[str] = set()
    for index, feature in enumerate(features):
        if feature["name"] in seen:
            raise ContractInvalid(f"The feature {feature['name']!r} is named twice.", field=f"features.{index}.name")
        seen.add(feature["name"])
        if feature["max_drift"] and reference is None:
            raise ContractInvalid(
                "A drift limit is measured against the reference version: name one.",
                field=f"features.{index}.max_drift",
            )
    return {
        "enforcement": enforcement,
        "reference_version": reference,
        "features": features,
        "dataset": _dataset(raw.get("dataset")),
    }


# --- Facts a profile holds ------------------------------------------------------------------------


# A feature as its stored profile describes it: drift's view of it (name, dtype, logical type,
# statistics and stored distribution), so the contract and drift read a profile one way.
FeatureFacts = drift.FeatureView


@dataclass(frozen=True)
class ProfileFacts:
    row_count: int
    features: Sequence[FeatureFacts]
    quality: Mapping[str, Any] = field(default_factory=dict)
    sample_rows: Sequence[Mapping[str, Any]] = ()


def facts_of(view: drift.ProfileView, *, quality: Mapping[str, Any], sample: Mapping[str, Any] | None) -> ProfileFacts:
    """The facts a contract is checked on: drift's view of a profile (`profiler.drift.profile_view`),
    its quality block and its stored row sample (`{"rows": [{"values": {...}}, ...]}`)."""
    return ProfileFacts(
        row_count=view.row_count,
        features=view.features,
        quality=quality,
        sample_rows=[row.get("values") or {} for row in (sample or {}).get("rows") or []],
    )


def value_key(value: Any) -> str:
    """How a value is compared with the values a profile counted: text as itself, others as JSON
    (so 1 and 1.0 and "1" stay apart from true, and a number's text matches its number)."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value)


def _counted_key(key: str) -> str:
    return value_key(json.loads(key))


def anomaly(code: str, feature: str | None, message: str, expected: Any, actual: Any, *, severity: str = ERROR) -> dict:
    return {
        "code": code,
        "feature": feature,
        "severity": severity,
        "message": message,
        "expected": expected,
        "actual": actual,
    }


def _comparable(a: Any, b: Any) -> bool:
    return (_is_number(a) and _is_number(b)) or (isinstance(a, str) and isinstance(b, str))


def _percent(share: float) -> str:
    return f"{100 * share:.2f}%"


def _feature_anomalies(rule: Mapping[str, Any], facts: FeatureFacts, row_count: int, sample: Sequence) -> list[dict]:
    name = rule["name"]
    stats = facts.statistics
    found: list[dict] = []
    allowed_types = rule["logical_type"]
    if allowed_types is not None:
        listed = allowed_types if isinstance(allowed_types, list) else [allowed_types]
        if facts.logical_type not in listed:
            found.append(
                anomaly(
                    "type_changed",
                    name,
                    f"{name!r} is {facts.logical_type} ({facts.dtype}); the contract allows {', '.join(listed)}.",
                    allowed_types,
                    facts.logical_type,
                )
            )
    count = int(stats.get("count") or 0)
    nulls = int(stats.get("null_count") or 0)
    null_fraction = float(stats.get("null_fraction") or 0.0)
    limit = 0.0 if rule["required"] else rule["max_null_fraction"]
    if rule["required"] and rule["max_null_fraction"] is not None:
        limit = min(limit, rule["max_null_fraction"])
    if limit is not None and null_fraction > limit:
        found.append(
            anomaly(
                "null_fraction",
                name,
                f"{name!r} has {nulls:,} missing values ({_percent(null_fraction)}); "
                + ("it is required." if rule["required"] else f"at most {_percent(limit)} may be missing."),
                limit,
                round(null_fraction, 6),
            )
        )
    if rule["unique"] and count:
        distinct = int(stats.get("distinct_count") or 0)
        approximate = bool(stats.get("distinct_is_approximate"))
        error = float(stats.get("distinct_relative_error") or 0.0)
        # An approximate count is trusted to three standard errors before repeats are claimed.
        floor = count * (1 - 3 * error) if approximate else count
        if distinct < floor:
            found.append(
                anomaly(
                    "not_unique",
                    name,
                    f"{name!r} has {distinct:,} distinct values among {count:,}"
                    + (" (an estimate)" if approximate else "")
                    + "; the contract says each value is unique.",
                    count,
                    distinct,
                )
            )
    low, high = stats.get("min"), stats.get("max")
    for bound, observed, side in ((rule["min"], low, "min"), (rule["max"], high, "max")):
        if bound is None or observed is None or not _comparable(bound, observed):
            continue
        if (side == "min" and observed < bound) or (side == "max" and observed > bound):
            found.append(
                anomaly(
                    "out_of_range",
                    name,
                    f"{name!r} has values from {low!r} to {high!r}; the contract allows "
                    f"{rule['min']!r} to {rule['max']!r}.",
                    {"min": rule["min"], "max": rule["max"]},
                    {"min": low, "max": high},
                )
            )
            break
    if rule["allowed_values"] is not None:
        found += _domain_anomalies(rule, facts)
    lengths = stats.get("string_length") or {}
    shortest, longest = lengths.get("min"), lengths.get("max")
    if (rule["min_length"] is not None and shortest is not None and shortest < rule["min_length"]) or (
        rule["max_length"] is not None and longest is not None and longest > rule["max_length"]
    ):
        found.append(
            anomaly(
                "length",
                name,
                f"{name!r} has strings of {shortest} to {longest} characters; the contract allows "
                f"{rule['min_length'] if rule['min_length'] is not None else 0} to "
                f"{rule['max_length'] if rule['max_length'] is not None else 'any'}.",
                {"min_length": rule["min_length"], "max_length": rule["max_length"]},
                {"min_length": shortest, "max_length": longest},
            )
        )
    if rule["pattern"] is not None:
        found += _pattern_anomalies(rule, facts, sample)
    return found


def _domain_anomalies(rule: Mapping[str, Any], facts: FeatureFacts) -> list[dict]:
    name = rule["name"]
    allowed = {value_key(value) for value in rule["allowed_values"]}
    limit = rule["max_outside_share"] or 0.0
    shares = facts.shares()
    if shares is None:
        return [
            anomaly(
                "unexpected_values",
                name,
                f"The profile of {name!r} counted no values, so its domain cannot be checked.",
                {"allowed_values": rule["allowed_values"], "max_outside_share": limit},
                None,
            )
        ]
    uncounted = shares.pop(drift.OTHER, 0.0)
    outside = {_counted_key(key): share for key, share in shares.items() if _counted_key(key) not in allowed}
    share = sum(outside.values()) + uncounted
    if share <= limit:
        return []
    examples = sorted(outside, key=lambda key: -outside[key])[:10]
    bound = " at most" if uncounted else ""
    return [
        anomaly(
            "unexpected_values",
            name,
            f"{name!r} has{bound} {_percent(share)} of its values outside the allowed ones "
            f"(at most {_percent(limit)} may be)"
            + (f": {', '.join(repr(key) for key in examples)}" if examples else "")
            + (f"; {_percent(uncounted)} of its values were not counted one by one." if uncounted else "."),
            {"allowed_values": rule["allowed_values"], "max_outside_share": limit},
            {"outside_share": round(share, 6), "unexpected": examples},
        )
    ]


def contract_patterns(contract: Mapping[str, Any]) -> dict[str, str]:
    """The regular expression of each feature of a contract (in normal form) that has one: what the
    profiler checks every value with (`profiler.plan.Options.patterns`)."""
    return {rule["name"]: rule["pattern"] for rule in contract.get("features") or [] if rule.get("pattern")}


def _pattern_anomalies(rule: Mapping[str, Any], facts: FeatureFacts, sample: Sequence[Mapping[str, Any]]) -> list[dict]:
    """The pattern checked on every value when the profile counted them with this very expression,
    else on the stored row sample."""
    counted = facts.statistics.get("pattern")
    if isinstance(counted, Mapping) and counted.get("regex") == rule["pattern"] and not counted.get("error"):
        return _counted_pattern_anomalies(rule, counted)
    return _sampled_pattern_anomalies(rule, sample)


def _counted_pattern_anomalies(rule: Mapping[str, Any], counted: Mapping[str, Any]) -> list[dict]:
    name = rule["name"]
    checked, failing = int(counted.get("checked") or 0), int(counted.get("mismatched") or 0)
    unchecked = int(counted.get("unchecked") or 0)
    actual = {
        "scope": "every_value",
        "checked": checked,
        "not_matching": failing,
        "unchecked": unchecked,
        "examples": list(counted.get("examples") or []),
    }
    found: list[dict] = []
    if failing:
        found.append(
            anomaly(
                "pattern",
                name,
                f"{failing:,} of the {checked:,} values of {name!r} do not match {rule['pattern']!r} "
                "(every value was checked when the version was profiled).",
                rule["pattern"],
                actual,
            )
        )
    if unchecked:
        found.append(
            anomaly(
                "pattern",
                name,
                f"{unchecked:,} values of {name!r} are longer than {PATTERN_VALUE_LENGTH:,} characters and were "
                f"not matched against {rule['pattern']!r}.",
                rule["pattern"],
                actual,
                severity=WARNING,
            )
        )
    return found


def _sampled_pattern_anomalies(rule: Mapping[str, Any], sample: Sequence[Mapping[str, Any]]) -> list[dict]:
    name = rule["name"]
    matcher = re.compile(rule["pattern"])
    texts = [patterns.value_text(row.get(name)) for row in sample if isinstance(row, Mapping)]
    present = [text for text in texts if text is not None]
    checked = [text for text in present if len(text) <= PATTERN_VALUE_LENGTH]
    failing = [text for text in checked if not matcher.fullmatch(text)]
    if not failing:
        return []
    return [
        anomaly(
            "pattern",
            name,
            f"{len(failing):,} of the {len(checked):,} values of {name!r} in the row sample do not match "
            f"{rule['pattern']!r}. Only the stored row sample was checked: the data was profiled without this "
            "pattern (before the contract gave it), so its other values were not.",
            rule["pattern"],
            {
                "scope": "row_sample",
                "checked": len(checked),
                "not_matching": len(failing),
                "unchecked": len(present) - len(checked),
                "examples": sorted({text[: patterns.EXAMPLE_LENGTH] for text in failing})[: patterns.EXAMPLES_KEPT],
            },
        )
    ]


def _dataset_anomalies(rules: Mapping[str, Any], facts: ProfileFacts) -> list[dict]:
    found: list[dict] = []
    rows = facts.row_count
    quality = facts.quality
    if (rules["min_rows"] is not None and rows < rules["min_rows"]) or (
        rules["max_rows"] is not None and rows > rules["max_rows"]
    ):
        found.append(
            anomaly(
                "row_count",
                None,
                f"{rows:,} rows; the contract allows {rules['min_rows'] or 0:,} to "
                f"{'any number' if rules['max_rows'] is None else format(rules['max_rows'], ',')}.",
                {"min_rows": rules["min_rows"], "max_rows": rules["max_rows"]},
                rows,
            )
        )
    if rules["max_duplicate_share"] is not None and rows:
        share = int(quality.get("duplicate_rows") or 0) / rows
        if share > rules["max_duplicate_share"]:
            found.append(
                anomaly(
                    "duplicate_share",
                    None,
                    f"{_percent(share)} of the rows repeat an earlier row; at most "
                    f"{_percent(rules['max_duplicate_share'])} may.",
                    rules["max_duplicate_share"],
                    round(share, 6),
                )
            )
    label = quality.get("label_column")
    counts = {str(key): int(value) for key, value in (quality.get("class_counts") or {}).items()}
    total = sum(counts.values())
    if rules["classes"] is not None:
        listed = {value_key(value) for value in rules["classes"]}
        extra = sorted(key for key in counts if key not in listed)
        if extra:
            found.append(
                anomaly(
                    "unexpected_classes",
                    label,
                    f"The label has classes the contract does not list: {', '.join(repr(key) for key in extra[:10])}.",
                    rules["classes"],
                    extra,
                )
            )
    if rules["min_class_share"] is not None and (counts or rules["classes"]):
        wanted = [value_key(value) for value in rules["classes"]] if rules["classes"] is not None else list(counts)
        shares = {key: (counts.get(key, 0) / total if total else 0.0) for key in wanted}
        rare = {key: share for key, share in shares.items() if share < rules["min_class_share"]}
        if rare:
            found.append(
                anomaly(
                    "class_share",
                    label,
                    "Classes rarer than the contract allows ("
                    + f"{_percent(rules['min_class_share'])}): "
                    + ", ".join(f"{key!r} {_percent(share)}" for key, share in sorted(rare.items()))
                    + ".",
                    rules["min_class_share"],
                    {key: round(share, 6) for key, share in sorted(rare.items())},
                )
            )
    if rules["max_label_conflict_share"] is not None and rows:
        conflicts = quality.get("label_conflicts") or {}
        share = int(conflicts.get("rows") or 0) / rows
        if share > rules["max_label_conflict_share"]:
            found.append(
                anomaly(
                    "label_conflicts",
                    label,
                    f"{_percent(share)} of the rows have identical features and a different label; at most "
                    f"{_percent(rules['max_label_conflict_share'])} may.",
                    rules["max_label_conflict_share"],
                    round(share, 6),
                )
            )
    if rules["no_split_leakage"]:
        leaked = int((quality.get("split_leakage") or {}).get("rows") or 0)
        if leaked:
            found.append(
                anomaly(
                    "split_leakage",
                    None,
                    f"{leaked:,} rows are in more than one split; the contract says no split leakage.",
                    0,
                    leaked,
                )
            )
    return found


def _drift_anomalies(
    features: Sequence[Mapping[str, Any]], result: Mapping[str, Any] | None, reference_label: str
) -> list[dict]:
    found: list[dict] = []
    measured = {entry["name"]: entry for entry in (result or {}).get("features", [])}
    for rule in features:
        limits = rule["max_drift"]
        if not limits:
            continue
        name = rule["name"]
        if result is None:
            found.append(
                anomaly(
                    "drift",
                    name,
                    f"Drift of {name!r} was not measured: {reference_label} has no profile to compare with.",
                    limits,
                    None,
                    severity=WARNING,
                )
            )
            continue
        entry = measured.get(name)
        if entry is None:
            continue  # a missing feature is an anomaly of its own
        values = {metric: entry["metrics"][metric]["value"] for metric in limits if metric in entry["metrics"]}
        over = {metric: value for metric, value in values.items() if value > limits[metric]}
        if over:
            found.append(
                anomaly(
                    "drift",
                    name,
                    f"{name!r} moved from {reference_label}: "
                    + ", ".join(f"{metric} {value:.4g} (limit {limits[metric]:.4g})" for metric, value in over.items())
                    + ".",
                    limits,
                    values,
                )
            )
    return found


def contract_anomalies(
    contract: Mapping[str, Any],
    facts: ProfileFacts,
    *,
    drift_result: Mapping[str, Any] | None = None,
    reference_label: str = "the reference version",
) -> list[dict]:
    """Every anomaly of a profile against a contract (in normal form), in the contract's order:
    each feature's, then the dataset's, then drift. `drift_result` is `profiler.drift.compare` of the
    profile against the reference version, or None when there is none to compare with."""
    by_name = {feature.name: feature for feature in facts.features}
    named = {rule["name"] for rule in contract["features"]}
    found: list[dict] = []
    for rule in contract["features"]:
        feature = by_name.get(rule["name"])
        if feature is None:
            found.append(
                anomaly(
                    "missing_feature",
                    rule["name"],
                    f"{rule['name']!r} is not in the data; the contract names it.",
                    rule["name"],
                    None,
                )
            )
            continue
        found += _feature_anomalies(rule, feature, facts.row_count, facts.sample_rows)
    if contract["features"]:
        for feature in facts.features:
            if feature.name not in named:
                found.append(
                    anomaly(
                        "new_feature",
                        feature.name,
                        f"{feature.name!r} ({feature.logical_type}) is not in the contract.",
                        None,
                        feature.logical_type,
                        severity=WARNING,
                    )
                )
    found += _dataset_anomalies(contract["dataset"], facts)
    found += _drift_anomalies(contract["features"], drift_result, reference_label)
    return found


def contract_status(anomalies: Sequence[Mapping[str, Any]]) -> str:
    """`failed` when any anomaly is an error; warnings alone let a contract pass."""
    return "failed" if any(item["severity"] == ERROR for item in anomalies) else "passed"


# --- Inference ------------------------------------------------------------------------------------

# How an inferred contract leaves room for the next version (TFDV's habits, made explicit):
INFERENCE = {
    # a numeric range is widened by this share of its width on each side (integers rounded outward)
    "range_margin": 0.1,
    # strings with at most this many distinct values, all counted, get a domain
    "domain_max_values": 50,
    # the share of values a domain lets fall outside it
    "max_outside_share": 0.01,
    # a feature with missing values may have this many times as many (plus one point)
    "null_slack": 2.0,
    # the rarest class may become this much rarer
    "class_share_slack": 0.5,
    # duplicates and label conflicts may grow by this share of the rows
    "share_slack": 0.01,
}
NUMERIC_DRIFT_METRIC = "ks"
CATEGORICAL_DRIFT_METRIC = "linf"


def _widened(low: float, high: float, integer: bool) -> tuple[float, float]:
    margin = (high - low) * INFERENCE["range_margin"]
    if margin == 0:
        margin = abs(high) * INFERENCE["range_margin"] or 1.0
    low, high = low - margin, high + margin
    if integer:
        return math.floor(low), math.ceil(high)
    return low, high


def _drift_limit(metric: str, count: int, bins: int) -> float:
    floor = drift.noise_floor(metric, count, count, bins) if count else 0.0
    return round(max(drift.THRESHOLDS[metric], floor) + 0.005, 3)


def _inferred_feature(feature: FeatureFacts, label: str | None) -> dict[str, Any]:
    stats = feature.statistics
    count = int(stats.get("count") or 0)
    nulls = int(stats.get("null_count") or 0)
    rule: dict[str, Any] = {name: None for name in FEATURE_KEYS}
    rule.update(name=feature.name, logical_type=feature.logical_type, required=nulls == 0, unique=False, max_drift={})
    if nulls:
        rule["max_null_fraction"] = min(
            1.0, round(float(stats.get("null_fraction") or 0) * INFERENCE["null_slack"] + 0.01, 4)
        )
    if feature.logical_type == "identifier" and count and not stats.get("distinct_is_approximate"):
        rule["unique"] = int(stats.get("distinct_count") or 0) == count
    low: Any = stats.get("min")
    high: Any = stats.get("max")
    if feature.logical_type == "numeric" and _is_number(low) and _is_number(high):
        integer = "int" in feature.dtype.lower()
        rule["min"], rule["max"] = _widened(float(low), float(high), integer)
        rule["max_drift"] = {NUMERIC_DRIFT_METRIC: _drift_limit(NUMERIC_DRIFT_METRIC, count, 2)}
    shares = feature.shares()
    if (
        feature.logical_type in ("categorical", "boolean", "constant")
        and shares is not None
        and drift.OTHER not in shares
        and len(shares) <= INFERENCE["domain_max_values"]
        and feature.name != label
    ):
        rule["allowed_values"] = sorted((json.loads(key) for key in shares), key=value_key)
        rule["max_outside_share"] = INFERENCE["max_outside_share"]
        rule["max_drift"] = {CATEGORICAL_DRIFT_METRIC: _drift_limit(CATEGORICAL_DRIFT_METRIC, count, len(shares))}
    return rule


def contract_inferred(facts: ProfileFacts, *, reference_version: int | None) -> dict[str, Any]:
    """A draft contract (normal form) from a profile, with the slack of INFERENCE; never in force
    until someone saves it."""
    quality = facts.quality
    label = quality.get("label_column")
    features = [_inferred_feature(feature, label) for feature in facts.features]
    counts = {str(key): int(value) for key, value in (quality.get("class_counts") or {}).items()}
    total = sum(counts.values())
    rows = facts.row_count
    dataset: dict[str, Any] = {name: None for name in DATASET_KEYS}
    dataset["no_split_leakage"] = False
    dataset["min_rows"] = 1
    if rows:
        duplicates = int(quality.get("duplicate_rows") or 0) / rows
        dataset["max_duplicate_share"] = min(1.0, round(duplicates + INFERENCE["share_slack"], 4))
        conflicts = int((quality.get("label_conflicts") or {}).get("rows") or 0) / rows
        if label:
            dataset["max_label_conflict_share"] = min(1.0, round(conflicts + INFERENCE["share_slack"], 4))
    if counts and total and len(counts) <= MAX_CLASSES:
        dataset["classes"] = sorted(counts)
        dataset["min_class_share"] = round(min(counts.values()) / total * INFERENCE["class_share_slack"], 4)
    if "split_leakage" in quality:
        dataset["no_split_leakage"] = not int((quality.get("split_leakage") or {}).get("rows") or 0)
    if reference_version is None:
        for rule in features:
            rule["max_drift"] = {}
    return {
        "enforcement": "warn",
        "reference_version": reference_version,
        "features": features,
        "dataset": dataset,
    }
