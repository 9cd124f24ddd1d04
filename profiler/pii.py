"""Which string columns look like personal data: e-mail addresses, phone numbers, IP addresses, card numbers.

A sample of a column's values is matched with RE2 regular expressions through ``pyarrow.compute``, so the
cost does not grow with a Python loop over the sample; only card-number candidates are checked one by one,
with the Luhn checksum.

Design choices, all on the side of fewer false positives (flagging ids, dates or amounts as personal data
is worse than missing an unusual phone format):

* A value counts for a kind only if the *whole* value has its shape (surrounding whitespace tolerated). A
  free-text column that mentions an address here and there is not an e-mail column; finding personal data
  inside prose is a different problem.
* A value counts for at most one kind: the shapes are disjoint, and a card number is never also a phone.
* ``email``: ``local@domain.tld``, the local part in the dot-atom form of RFC 5322 (so plus-addressing
  works), any number of subdomains, an alphabetic top-level domain. Quoted local parts and unencoded
  international domains are not recognised.
* ``phone``: 7 to 15 digits (the E.164 maximum), and either

  - international: ``+``, a 1-3 digit country code, then digit groups separated by at most one space,
    dash or dot, any of them possibly in parentheses (``+44 (0)20 7946 0958``, ``+14155552671``); or
  - national: at least three digit groups separated by a space, dash or dot (``020 7946 0958``,
    ``555-123-4567``, ``06.12.34.56.78``), or a parenthesised area code and at least two groups
    (``(555) 123-4567``). Groups after the first have 2-5 digits.

  Never a phone: a plain integer (``12345678``, no separator), anything shaped like a date
  (``2024-01-05``, ``05.01.2024``), a decimal (``+1234567.89``), a number with thousands separators
  (``1 234 567``), an IPv4 address, a card-number candidate, a ZIP+4 code (only two groups). A timestamp
  has colons, which no phone shape allows.
* ``ip_address``: a dotted-quad IPv4 address with octets 0-255 and no leading zeros (``1.2.3.4`` is a
  valid address even when it is really a version number, and it counts), or an IPv6 address in any of
  the RFC 4291 text forms, including ``::`` compression and a trailing dotted quad. Zone ids are not.
* ``card_number``: 13 to 19 digits, optionally separated by single spaces or dashes, starting with 2-6
  (the industry digits of payment cards) and passing the Luhn checksum. About one random digit string in
  ten passes Luhn, so a column of long numeric ids can score up to about 0.1 here; the default threshold of
  :meth:`PiiScan.suspected` sits well above that.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

PII_KINDS = ("email", "phone", "ip_address", "card_number")


def _whole(pattern: str) -> str:
    return rf"^\s*(?:{pattern})\s*$"


_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = _whole(rf"{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+[A-Za-z]{{2,63}}")

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4_BODY = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
_IPV4 = _whole(_IPV4_BODY)
_H = r"[0-9A-Fa-f]{1,4}"
_IPV6 = _whole(
    "|".join(
        (
            rf"(?:{_H}:){{7}}{_H}",
            rf"(?:{_H}:){{1,7}}:",
            rf"(?:{_H}:){{1,6}}:{_H}",
            rf"(?:{_H}:){{1,5}}(?::{_H}){{1,2}}",
            rf"(?:{_H}:){{1,4}}(?::{_H}){{1,3}}",
            rf"(?:{_H}:){{1,3}}(?::{_H}){{1,4}}",
            rf"(?:{_H}:){{1,2}}(?::{_H}){{1,5}}",
            rf"{_H}:(?::{_H}){{1,6}}",
            rf":(?:(?::{_H}){{1,7}}|:)",
            rf"(?:{_H}:){{6}}{_IPV4_BODY}",
            rf"(?:(?:{_H}:){{1,5}}|:):(?:{_H}:){{0,4}}{_IPV4_BODY}",
        )
    )
)

_PHONE_SHAPE = _whole(
    r"\+[0-9]{1,3}(?:[-. ]?(?:\([0-9]{1,5}\)|[0-9]{1,5}))+"
    r"|[0-9]{1,5}(?:[-. ][0-9]{2,5}){2,}"
    r"|\([0-9]{2,5}\) ?[0-9]{2,5}(?:[-. ][0-9]{2,5})+"
)
# Shapes that fit a phone pattern but are far more often something else.
_NOT_PHONE = (
    _whole(r"[0-9]{4}[-./ ][0-9]{1,2}[-./ ][0-9]{1,2}|[0-9]{1,2}[-./ ][0-9]{1,2}[-./ ][0-9]{2,4}"),
    _whole(r"[0-9]{1,3}(?:[ .][0-9]{3})+"),
    _whole(r"[+-]?[0-9]+\.[0-9]+"),
    _IPV4,
)
_PHONE_DIGITS = (7, 15)

_CARD_CANDIDATE = _whole(r"[2-6](?:[ -]?[0-9]){12,18}")


@dataclass(frozen=True)
class PiiScan:
    """How many of ``sampled`` values look like each kind of :data:`PII_KINDS`."""

    sampled: int
    matches: dict[str, int]

    def shares(self) -> dict[str, float]:
        """The fraction of sampled values of each kind; all 0.0 for an empty sample."""
        return {kind: self.matches.get(kind, 0) / self.sampled if self.sampled else 0.0 for kind in PII_KINDS}

    def suspected(self, threshold: float = 0.3) -> list[str]:
        """The kinds whose share reaches ``threshold``, sorted by name."""
        if not 0 < threshold <= 1:
            raise ValueError(f"threshold must be in (0, 1], not {threshold!r}")
        return sorted(kind for kind, share in self.shares().items() if share >= threshold)


def scan_values(values: pa.Array | pa.ChunkedArray | Sequence[str | None]) -> PiiScan:
    """Count the values of a string sample that look like each kind of personal data; nulls are skipped."""
    array = _as_strings(values).drop_null()

    def matching(pattern: str) -> pa.Array:
        return pc.match_substring_regex(array, pattern)

    is_card_candidate = matching(_CARD_CANDIDATE)
    digits = pc.count_substring_regex(array, "[0-9]")
    is_phone = pc.and_(
        matching(_PHONE_SHAPE),
        pc.and_(pc.greater_equal(digits, _PHONE_DIGITS[0]), pc.less_equal(digits, _PHONE_DIGITS[1])),
    )
    for excluded in (*_NOT_PHONE, _CARD_CANDIDATE):
        is_phone = pc.and_not(is_phone, matching(excluded))

    candidates = pc.filter(array, is_card_candidate).to_pylist()
    return PiiScan(
        sampled=len(array),
        matches={
            "email": _count(matching(_EMAIL)),
            "phone": _count(is_phone),
            "ip_address": _count(pc.or_(matching(_IPV4), matching(_IPV6))),
            "card_number": sum(_luhn_valid(candidate) for candidate in candidates),
        },
    )


# Inside prose, only shapes that are rarely anything else: an e-mail address, an IPv4 address between
# non-digits, an international phone number (a "+", a country code, then 7 to 15 digits in groups), a
# payment card number (checked with Luhn). National phone formats are too like other numbers in text.
_IN_TEXT = {
    "email": rf"{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+[A-Za-z]{{2,63}}\b",
    "ip_address": rf"(?:^|[^0-9.]){_IPV4_BODY}(?:$|[^0-9.])",
    "phone": r"(?:^|[^0-9+])\+[1-9][0-9]{0,2}(?:[ .-]?(?:\([0-9]{1,4}\)|[0-9]{2,4})){2,5}(?:$|[^0-9])",
}
_CARD_IN_TEXT = r"(?:^|[^0-9])(?P<card>[2-6](?:[ -]?[0-9]){12,18})(?:$|[^0-9])"


def scan_contained(texts: pa.Array | pa.ChunkedArray | Sequence[str | None]) -> dict[str, int]:
    """How many documents contain something that looks like each kind of personal data (one match is
    enough; a card number counts only if it passes Luhn)."""
    array = _as_strings(texts).drop_null()
    counts = {kind: _count(pc.match_substring_regex(array, pattern)) for kind, pattern in _IN_TEXT.items()}
    candidates = pc.extract_regex(pc.filter(array, pc.match_substring_regex(array, _CARD_IN_TEXT)), _CARD_IN_TEXT)
    counts["card_number"] = sum(_luhn_valid(match["card"]) for match in candidates.to_pylist() if match is not None)
    return counts


def mask(value: str, kinds: Sequence[str]) -> str:
    """Render ``value`` of a column suspected of ``kinds`` for display, hiding all but a hint.

    The first kind of ``kinds`` the value itself looks like decides the rendering: ``j***@e***.org`` for
    an e-mail address, ``***-**42`` (the last two digits) for a phone or card number,
    ``***.***.***.12`` (the last octet) for an IPv4 address. IPv6 addresses, where the last groups often
    encode the device, and values of none of ``kinds`` become ``***``.
    """
    unknown = set(kinds) - set(PII_KINDS)
    if unknown:
        raise ValueError(f"unknown PII kinds: {sorted(unknown)}")
    matches = scan_values([value]).matches
    kind = next((kind for kind in kinds if matches[kind]), None)
    stripped = value.strip()
    if kind == "email":
        local, domain = stripped.rsplit("@", 1)
        top_level = domain.rsplit(".", 1)[1]
        return f"{local[0]}***@{domain[0]}***.{top_level}"
    if kind in ("phone", "card_number"):
        return "***-**" + "".join(char for char in stripped if char.isdigit())[-2:]
    if kind == "ip_address" and ":" not in stripped:
        return "***.***.***." + stripped.rsplit(".", 1)[1]
    return "***"


def _as_strings(values: pa.Array | pa.ChunkedArray | Sequence[str | None]) -> pa.Array | pa.ChunkedArray:
    if isinstance(values, str):
        raise TypeError("a PII scan needs a sample of values, not a single string")
    if not isinstance(values, pa.Array | pa.ChunkedArray):
        return pa.array(values, type=pa.string())
    if pa.types.is_string_view(values.type):
        # The regex kernels have no string_view implementation.
        return values.cast(pa.string())
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        raise TypeError(f"a PII scan needs string values, not {values.type}")
    return values


def _count(flags: pa.Array) -> int:
    return int(pc.sum(flags).as_py() or 0)


def _luhn_valid(candidate: str) -> bool:
    digits = [int(char) for char in candidate if char.isdigit()]
    total = 0
    for position, digit in enumerate(reversed(digits)):
        # Every second digit from the right is doubled, and a two-digit product counts as its digit sum.
        total += (digit * 2 - 9 if digit > 4 else digit * 2) if position % 2 else digit
    return total % 10 == 0


# --- Masking for readers ------------------------------------------------------------------------
#
# Whether a feature is personal data is decided when it is read, from its current `pii` flag (set by
# detection, the text-corpus scan or a person's decision), never from what profiling masked when it
# ran: a decision taken later, a profile run again, a version that inherits a decision are all masked
# alike. The functions below take that decision as given: `pii` maps each personal-data feature's
# name to the kinds detection found in it (empty when a person decided it).

MASK = "***"
# Numeric personal data: quantiles, mean, std and histogram edges are rounded to a multiple of the
# largest power of ten not above the spread between p5 and p95 divided by this (ages spread over
# 20-85 are shown in tens, salaries over 20,000-200,000 in ten-thousands); min and max are withheld.
COARSE_SPREAD_DIVISOR = 5
NUMERIC_KEYS_COARSENED = ("mean", "std")


def detected_kinds(statistics: Mapping[str, Any] | None) -> list[str]:
    """The kinds of personal data detection found in a feature (none when only a person said so)."""
    kinds = (statistics or {}).get("pii_kinds") or []
    return [kind for kind in kinds if kind in PII_KINDS]


def masked_value(value: Any, kinds: Sequence[str]) -> Any:
    """One value of a personal-data feature as a reader who may not see it gets it: a hint of its
    shape when detection knows the kind (see :func:`mask`), else ``***``. Nulls stay null."""
    if value is None:
        return None
    if not kinds:
        return MASK
    return mask(str(value), kinds)


def coarsening_step(statistics: dict[str, Any]) -> float | None:
    """The step numeric statistics of a personal-data feature are rounded to (see
    COARSE_SPREAD_DIVISOR); None when the feature has no numeric quantiles."""
    quantiles = statistics.get("quantiles") or {}
    points = [value for key in ("p5", "p50", "p95") if isinstance(value := quantiles.get(key), int | float)]
    if len(points) < 3 or not all(math.isfinite(value) for value in points):
        return None
    low, middle, high = (float(value) for value in points)
    spread = (high - low) / COARSE_SPREAD_DIVISOR
    if spread <= 0:  # (nearly) one value: keep its order of magnitude only
        spread = abs(middle)
    if spread <= 0:
        return 1.0
    return float(10 ** math.floor(math.log10(spread)))


def _coarse(value: Any, step: float | None) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return MASK if value is not None else None
    if step is None or not math.isfinite(value):
        return None
    rounded = round(value / step) * step
    return int(rounded) if step >= 1 else round(rounded, max(0, -math.floor(math.log10(step))))


def masked_statistics(statistics: dict[str, Any]) -> dict[str, Any]:
    """A personal-data feature's statistics for a reader who may not see its values: text values
    (min/max, top values, categorical histogram) masked; numbers coarsened: no min or max, outlier
    fences withheld, quantiles, mean, std and histogram edges rounded to :func:`coarsening_step`.
    Counts (present, missing, distinct, per bin) are kept."""
    kinds = detected_kinds(statistics)
    masked = dict(statistics)
    step = coarsening_step(statistics)
    numeric = isinstance(statistics.get("mean"), int | float) or step is not None
    for key in ("min", "max"):
        value = masked.get(key)
        if isinstance(value, str):
            masked[key] = masked_value(value, kinds)
        elif value is not None and not isinstance(value, bool):
            masked[key] = None
    if numeric:
        for key in NUMERIC_KEYS_COARSENED:
            if key in masked:
                masked[key] = _coarse(masked[key], step)
    quantiles = statistics.get("quantiles")
    if isinstance(quantiles, dict):
        masked["quantiles"] = {
            key: masked_value(value, kinds) if isinstance(value, str) else _coarse(value, step)
            for key, value in quantiles.items()
        }
    if isinstance(statistics.get("outliers"), dict):
        masked["outliers"] = {"count": statistics["outliers"].get("count")}
    masked["top_values"] = [
        {"value": masked_value(item["value"], kinds), "count": item["count"]}
        for item in statistics.get("top_values") or []
    ]
    histogram = statistics.get("histogram")
    if isinstance(histogram, dict) and histogram.get("kind") == "categorical":
        masked["histogram"] = {**histogram, "values": masked["top_values"]}
    elif isinstance(histogram, dict) and histogram.get("kind") == "equal_width":
        edges = histogram.get("edges") or []
        if all(isinstance(edge, int | float) and not isinstance(edge, bool) for edge in edges) and step is not None:
            masked["histogram"] = {**histogram, "edges": [_coarse(edge, step) for edge in edges]}
        else:  # dates (or edges without a step to round them to): the counts alone would mislead
            masked["histogram"] = None
    pattern = statistics.get("pattern")
    if isinstance(pattern, dict):
        # The values that broke a contract's expression are values of the feature like any other.
        masked["pattern"] = {
            **pattern,
            "examples": [masked_value(example, kinds) for example in pattern.get("examples") or []],
        }
    return masked


def masked_sample(
    sample: Mapping[str, Any] | None,
    pii: Mapping[str, Sequence[str]],
    *,
    shown: bool,
    aliases: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The stored sample rows as a reader gets them: the values of every feature in `pii` masked
    unless `shown`, and the class folders in paths under their `aliases` (a personal-data label's).
    `pii_columns` names the personal-data features the sample holds."""
    sample = sample or {}
    columns = list(sample.get("columns") or [])
    hidden = {name: kinds for name, kinds in pii.items() if name in columns}
    rows = []
    for entry in sample.get("rows") or []:
        values = entry.get("values") or {}
        if not shown:
            values = {
                name: masked_value(value, hidden[name]) if name in hidden else aliased_paths(value, aliases or {})
                for name, value in values.items()
            }
        row = entry.get("row") if shown else aliased_paths(entry.get("row"), aliases or {})
        rows.append({"row": row, "values": values})
    return {"columns": columns, "rows": rows, "masked": not shown and bool(hidden), "pii_columns": sorted(hidden)}


def class_aliases(class_counts: Mapping[str, int]) -> dict[str, str]:
    """Names for the classes of a personal-data label: ``class 1`` the most frequent, and on; classes
    of equal count are ordered by a hash of their name, so the order tells nothing about the names."""
    ranked = sorted(
        class_counts.items(), key=lambda item: (-int(item[1]), hashlib.sha256(str(item[0]).encode()).hexdigest())
    )
    return {str(name): f"class {position}" for position, (name, _) in enumerate(ranked, start=1)}


def aliased_paths(value: Any, aliases: Mapping[str, str]) -> Any:
    """`value` (a path, a sentence quoting paths, or lists and mappings of them) with every folder
    named after a class under its alias: the class folders of a folder of images (people's names,
    for faces) are its labels. Mapping keys are left alone."""
    if not aliases:
        return value
    if isinstance(value, str):
        if "/" not in value:
            return value
        return _folder_pattern(tuple(sorted(aliases, key=len, reverse=True))).sub(
            lambda match: aliases[match.group(0)], value
        )
    if isinstance(value, dict):
        return {key: aliased_paths(item, aliases) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [aliased_paths(item, aliases) for item in value]
    return value


@functools.lru_cache(maxsize=64)
def _folder_pattern(names: tuple[str, ...]) -> re.Pattern[str]:
    # A whole path segment: at the start, or after a separator, a space or an opening quote or
    # bracket, and followed by "/".
    return re.compile(r"(?<![^\s/(\[,'\"])(?:" + "|".join(re.escape(name) for name in names) + r")(?=/)")


def label_aliases(quality: Mapping[str, Any] | None, pii: Collection[str]) -> dict[str, str]:
    """The aliases of the label's classes when the label is one of the features in `pii`, else none."""
    quality = quality or {}
    label = quality.get("label_column")
    return class_aliases(quality.get("class_counts") or {}) if label and label in pii else {}


def aliased_counts(counts: Mapping[str, int], aliases: Mapping[str, str]) -> dict[str, int]:
    """Class counts under their aliases; a class missing from `aliases` is ``class ?``, summed."""
    result: dict[str, int] = {}
    for name, count in counts.items():
        alias = aliases.get(str(name), "class ?")
        result[alias] = result.get(alias, 0) + int(count)
    return result


# Quality findings whose sentence may quote values of the feature they are about.
VALUE_FINDINGS = {"class_imbalance", "label_drift"}
DRIFT_FINDINGS = {"feature_drift", "label_drift"}


def masked_quality(quality: Mapping[str, Any] | None, pii: Collection[str]) -> dict[str, Any]:
    """A version's quality for a reader who may not see the values of the features named in `pii`:
    a personal-data label's classes under aliases (counts kept), sentences that quote its values
    reworded, and the drift of personal-data features left out (as drift compares only the rest)."""
    quality = dict(quality or {})
    label = quality.get("label_column")
    label_hidden = bool(label) and label in pii
    aliases = class_aliases(quality.get("class_counts") or {}) if label_hidden else {}
    if label_hidden:
        quality["class_counts"] = aliased_counts(quality.get("class_counts") or {}, aliases)
    findings = []
    for finding in quality.get("findings") or []:
        about = finding.get("feature")
        if about in pii and finding.get("code") in DRIFT_FINDINGS:
            continue
        if about in pii and finding.get("code") in VALUE_FINDINGS:
            finding = {**finding, "message": _reworded(finding["message"], aliases)}
        findings.append(finding)
    if "findings" in quality:
        quality["findings"] = findings
    if label_hidden:  # examples and sentences that quote paths name the class folders
        quality = {
            key: value if key in ("class_counts", "label_column") else aliased_paths(value, aliases)
            for key, value in quality.items()
        }
    summary = quality.get("drift")
    if isinstance(summary, dict):
        quality["drift"] = {
            **summary,
            "drifted_features": [name for name in summary.get("drifted_features") or [] if name not in pii],
            "label_drifted": bool(summary.get("label_drifted")) and not label_hidden,
        }
    # Label quality's examples, near conflicts and groups quote classes and group values.
    return masked_label_quality(quality, {name: [] for name in pii}, label or None, aliases)


def _reworded(message: str, aliases: Mapping[str, str]) -> str:
    for name, alias in sorted(aliases.items(), key=lambda item: -len(item[0])):
        message = message.replace(repr(name), repr(alias))
    return message


def masked_split_statistics(
    splits: dict[str, Any], pii: Collection[str], label: str | None, aliases: Mapping[str, str]
) -> dict[str, Any]:
    """Each split's statistics with personal-data features masked and a personal-data label's
    classes (and the class folders in its files) under the version's aliases."""
    masked = {}
    for name, split in splits.items():
        quality = dict(split.get("quality") or {})
        if label and label in pii and quality.get("class_counts"):
            quality["class_counts"] = aliased_counts(quality["class_counts"], aliases)
        masked[name] = {
            **split,
            "quality": quality,
            "features": [
                {**feature, "statistics": masked_statistics(feature.get("statistics") or {})}
                if feature.get("name") in pii
                else feature
                for feature in split.get("features") or []
            ],
        }
    # Files, and values of other features (such as an image's path), name the class folders.
    return aliased_paths(masked, aliases) if label and label in pii else masked


def masked_drift(result: dict[str, Any], withheld: Collection[str]) -> dict[str, Any]:
    """A stored drift report without the features named in `withheld` (personal data of a version the
    reader may not see): their metrics, their schema entries, and the label if it is one of them."""
    if not withheld:
        return result

    def kept(entry: dict[str, Any]) -> bool:
        names = {entry.get("name"), entry.get("previous_name"), entry.get("from"), entry.get("to")}
        return not names & set(withheld)

    schema = result.get("schema") or {}
    label = result.get("label")
    hidden_label = isinstance(label, dict) and bool({label.get("column"), label.get("against_column")} & set(withheld))
    return {
        **result,
        "schema": {key: [entry for entry in entries if kept(entry)] for key, entries in schema.items()},
        "features": [entry for entry in result.get("features") or [] if kept(entry)],
        "drifted_features": [name for name in result.get("drifted_features") or [] if name not in withheld],
        "label": None if hidden_label else label,
        "masked_features": sorted(withheld),
    }


def masked_label_quality(
    label_quality: Mapping[str, Any], pii: Mapping[str, Sequence[str]], label: str | None, aliases: Mapping[str, str]
) -> dict[str, Any]:
    """`quality`'s label-quality parts as a reader who may not see personal data gets them: the
    classes of a personal-data label under their `aliases` (as class counts are), the values of
    personal-data group features masked."""
    result = dict(label_quality)
    if label is not None and label in pii:
        issues = result.get("label_issues")
        if isinstance(issues, dict):
            result["label_issues"] = {
                **issues,
                "by_class": aliased_counts(issues.get("by_class") or {}, aliases),
                "examples": [
                    {
                        **example,
                        "given": aliases.get(str(example.get("given")), "class ?"),
                        "suggested": aliases.get(str(example.get("suggested")), "class ?"),
                    }
                    for example in issues.get("examples") or []
                ],
            }
        near = result.get("near_conflicts")
        if isinstance(near, dict):
            result["near_conflicts"] = {
                **near,
                "examples": [
                    {**example, "labels": [aliases.get(str(value), "class ?") for value in example.get("labels") or []]}
                    for example in near.get("examples") or []
                ],
            }
    groups = result.get("groups")
    if isinstance(groups, dict):
        shown: dict[str, Any] = {}
        for name, entries in groups.items():
            hidden = name in pii
            shown[name] = [
                {
                    **entry,
                    "value": masked_value(entry.get("value"), pii[name]) if hidden else entry.get("value"),
                    "class_shares": {
                        aliases.get(str(cls), "class ?") if label in pii else cls: share
                        for cls, share in (entry.get("class_shares") or {}).items()
                    },
                }
                for entry in entries
            ]
        result["groups"] = shown
    findings = []
    for item in result.get("findings") or []:
        code, about = item.get("code"), item.get("feature")
        if code in GROUP_CODES and (about in pii or (label in pii and code == "group_label_disparity")):
            item = {**item, "message": GROUP_MESSAGES_MASKED[code].format(feature=about)}
        findings.append(item)
    if "findings" in result:
        result["findings"] = findings
    return result


GROUP_MESSAGES_MASKED = {
    "group_underrepresented": "A group of {feature} is under-represented (personal data: its value is not shown).",
    "group_label_disparity": "The label distribution differs across the groups of {feature} (personal data: the "
    "values are not shown).",
}
GROUP_CODES = frozenset(GROUP_MESSAGES_MASKED)
