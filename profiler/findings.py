"""Findings: what a profile tells people to look at, most severe first."""

from __future__ import annotations

from profiler.result import Finding

# At most this many findings of one code are listed; the rest are counted in one more finding.
FINDINGS_PER_CODE = 10

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def cap_findings(findings: list[Finding]) -> list[Finding]:
    """At most FINDINGS_PER_CODE findings of each code (the first, which are the most severe when
    the list is sorted); the rest of a code are counted in one `findings_omitted` finding."""
    kept: list[Finding] = []
    seen: dict[str, int] = {}
    for item in findings:
        seen[item["code"]] = seen.get(item["code"], 0) + 1
        if seen[item["code"]] <= FINDINGS_PER_CODE:
            kept.append(item)
    for code, count in seen.items():
        if count > FINDINGS_PER_CODE:
            kept.append(
                finding(
                    "info",
                    "findings_omitted",
                    None,
                    f"{count - FINDINGS_PER_CODE:,} more {code!r} findings are not listed ({count:,} in all).",
                )
            )
    return kept


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Most severe first (in place, stable); also returns the list."""
    findings.sort(key=lambda finding: SEVERITY_ORDER.get(finding["severity"], len(SEVERITY_ORDER)))
    return findings


def finding(severity: str, code: str, feature: str | None, message: str) -> Finding:
    return {"severity": severity, "code": code, "feature": feature, "message": message}


def share_of(part: int, whole: int) -> str:
    if not whole:
        return "0%"
    share = 100.0 * part / whole
    return f"{share:.1f}%" if share >= 0.1 else f"{share:.2g}%"
