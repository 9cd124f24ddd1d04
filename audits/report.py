"""An audit report as Markdown, for a person who never saw the API (an auditor, a lawyer)."""

from __future__ import annotations

import re
from typing import Any

from audits.rules import RESTRICTED_LABEL, RULES, Purpose

VERDICTS = {
    "pass": "PASS: nothing found that stands in the way of this training.",
    "conditional": "CONDITIONAL: the training may go ahead if the obligations below are met; read the warnings.",
    "fail": "FAIL: at least one blocker; the training may not go ahead on these datasets as they stand.",
}


# What Markdown (and the tables extension) reads inside a line: emphasis, code, links and images, table cells.
# Characters that only mean something at the start of a line (#, -, +, 1.) are left: a value never starts one.
_MARKDOWN_INLINE = re.compile(r"([\\`*_{}\[\]()!|])")


def _text(value: Any) -> str:
    """A value from people (a dataset's name, a message quoting one, a credit, a username) as Markdown that
    shows it as written: nothing in it becomes a link, an image, emphasis, HTML or a new line."""
    text = " ".join(str(value).splitlines())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_INLINE.sub(r"\\\1", text)


def _cell(value: Any) -> str:
    return _text(value if value not in (None, "") else "—")


def audit_markdown(audit: Any) -> str:
    purpose = Purpose(**audit.purpose)
    lines = [
        f"# Pre-training audit {audit.pk}",
        "",
        f"- **Run**: {audit.created_at:%Y-%m-%d %H:%M:%S} UTC by {_text(audit.created_by.get_username()) if audit.created_by else 'the system'}",
        f"- **Intended use**: {purpose.describe()}",
        f"- **Verdict**: {VERDICTS[audit.verdict]}",
        f"- **Datasets checked**: {audit.counts.get('datasets', len(audit.checked))} "
        f"({audit.counts.get('blocker', 0)} blockers, {audit.counts.get('obligation', 0)} obligations, "
        f"{audit.counts.get('warning', 0)} warnings)",
    ]
    for item in audit.requested:
        if "training_run" in item:
            label = f"{item['model']} {item['model_version']}" if item.get("model_version") else item["model"]
            lines.append(f"- **Model**: {_text(label)}, training run {_text(item['training_run'])}")
    if audit.rerun_of_id:
        lines.append(f"- **Re-run of**: audit {audit.rerun_of_id}")
    for severity, title in (("blocker", "Blockers"), ("obligation", "Obligations"), ("warning", "Warnings")):
        selected = [finding for finding in audit.findings if finding["severity"] == severity]
        lines += ["", f"## {title}", ""]
        if not selected:
            lines.append("None.")
            continue
        for finding in selected:
            chain = " ← ".join(_text(step["name"]) for step in finding["path"])
            lines.append(f"- **{finding['code']}** ({RULES[finding['code']][1]}) {_text(finding['message'])}")
            if len(finding["path"]) > 1:
                lines.append(f"  - Lineage: {chain}")
    lines += ["", "## Attributions owed", ""]
    if audit.attributions:
        for attribution in audit.attributions:
            lines.append(f"- {_text(attribution['credit'])}")
            if attribution.get("requirements"):
                lines.append(f"  - What the credit must contain: {_text(attribution['requirements'])}")
    else:
        lines.append("None.")
    restrictions = [item for item in audit.obligations if item["code"] == "use_restrictions"]
    if restrictions:
        lines += ["", "## Use restrictions to pass on", ""]
        for item in restrictions:
            if item.get("restricted"):
                lines.append(f"- Under the license of {RESTRICTED_LABEL}: ask its owners.")
                continue
            lines.append(f"- Under {_text(item['license'])}:")
            lines += [f"  - {_text(restriction)}" for restriction in item["restrictions"]]
    lines += [
        "",
        "## What was checked",
        "",
        "| dataset | role | depth | version | fingerprint | license |",
        "|---|---|---|---|---|---|",
    ]
    for entry in audit.checked:
        if entry.get("restricted"):
            lines.append(f"| {_cell(entry['name'])} | {entry['role']} | {entry['depth']} | — | — | — |")
            continue
        lines.append(
            f"| {_cell(entry['name'])} | {_cell(entry['role'])} | {entry['depth']} | {_cell(entry['version_number'])} "
            f"| {_cell(entry['fingerprint'])} | {_cell(entry['license'] or 'unknown')} |"
        )
    lines.append("")
    return "\n".join(lines)
