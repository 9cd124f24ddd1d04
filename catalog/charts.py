"""Small charts drawn on the server as SVG, for pages that need no JavaScript to be read: a
feature's histogram, a class balance, a lineage neighbourhood. Every bar's height (or width) is
proportional to the count it stands for; text goes through format_html, so it is escaped."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 240, 64
BAR_COLOUR = "#417690"


def _label(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def histogram_svg(histogram: dict[str, Any] | None, *, width: int = WIDTH, height: int = HEIGHT) -> SafeString:
    """A feature's stored histogram: equal-width bins of a numeric or date feature, or the top values
    of a categorical one (with the rest as one grey bar). Empty when there is nothing to draw."""
    if not histogram:
        return mark_safe("")  # a constant empty string
    if histogram.get("kind") == "categorical":
        bars = [(_label(item["value"]), int(item["count"])) for item in histogram.get("values", [])]
        if histogram.get("other_count"):
            bars.append(("(other values)", int(histogram["other_count"])))
    else:
        edges, counts = histogram.get("edges") or [], histogram.get("counts") or []
        bars = [
            (f"{_label(edges[index])} to {_label(edges[index + 1])}", int(count))
            for index, count in enumerate(counts)
            if index + 1 < len(edges)
        ]
    return bars_svg(bars, width=width, height=height, css_class="histogram")


def bars_svg(
    bars: Sequence[tuple[str, int]], *, width: int = WIDTH, height: int = HEIGHT, css_class: str = "bars"
) -> SafeString:
    """Vertical bars, each `<rect data-count=...>` with a tooltip naming its label and count."""
    if not bars:
        return mark_safe("")  # a constant empty string
    largest = max(count for _, count in bars) or 1
    step = width / len(bars)
    gap = 1 if step > 3 else 0
    rects = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}" data-count="{}"><title>{}: {}</title></rect>',
        (
            (
                f"{index * step:.2f}",
                f"{height - count / largest * height:.2f}",
                f"{max(step - gap, 0.5):.2f}",
                f"{count / largest * height:.2f}",
                "#999" if label == "(other values)" else BAR_COLOUR,
                count,
                label,
                count,
            )
            for index, (label, count) in enumerate(bars)
        ),
    )
    return format_html(
        '<svg class="{}" xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" viewBox="0 0 {} {}" '
        'role="img" aria-label="{} bars; the tallest stands for {}">{}</svg>',
        css_class,
        width,
        height,
        width,
        height,
        len(bars),
        largest,
        rects,
    )


def class_balance_svg(class_counts: dict[str, int], *, width: int = 320, row: int = 18) -> SafeString:
    """One horizontal bar per class, longest for the largest class, with its count and share."""
    if not class_counts:
        return mark_safe("")  # a constant empty string
    ordered = sorted(class_counts.items(), key=lambda item: (-item[1], item[0]))
    total = sum(class_counts.values()) or 1
    largest = ordered[0][1] or 1
    label_width, bar_width = 110, width - 110 - 90
    rows = format_html_join(
        "",
        '<g transform="translate(0,{})"><text x="0" y="13" font-size="12">{}</text>'
        '<rect x="{}" y="3" width="{}" height="{}" fill="{}" data-count="{}"><title>{}: {}</title></rect>'
        '<text x="{}" y="13" font-size="11">{} ({})</text></g>',
        (
            (
                index * row,
                label[:16],
                label_width,
                f"{count / largest * bar_width:.2f}",
                row - 6,
                BAR_COLOUR,
                count,
                label,
                count,
                label_width + bar_width + 4,
                count,
                f"{count / total:.1%}",
            )
            for index, (label, count) in enumerate(ordered)
        ),
    )
    height = row * len(ordered)
    return format_html(
        '<svg class="class-balance" xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" viewBox="0 0 {} {}" '
        'role="img" aria-label="class balance">{}</svg>',
        width,
        height,
        width,
        height,
        rows,
    )


LINE_CHARS = 28  # of the 11 px labels in a 220 px lineage box


def label_lines(label: str, width: int = LINE_CHARS) -> list[str]:
    """A name in lines of at most `width` characters, broken after / - _ . where it can and anywhere
    where it must: a lineage box shows the whole name, however long."""
    lines: list[str] = []
    line = ""
    for piece in re.findall(r"[^/_.-]*[/_.-]?", label):
        if not piece:
            continue
        if len(line) + len(piece) > width and line:
            lines.append(line)
            line = ""
        while len(piece) > width:
            lines.append(piece[:width])
            piece = piece[width:]
        line += piece
    if line or not lines:
        lines.append(line)
    return lines


def lineage_svg(
    centre: tuple[str, str], upstream: Sequence[tuple[str, str]], downstream: Sequence[tuple[str, str]]
) -> SafeString:
    """The datasets one edge away: those it was made from on the left, those made from it on the
    right, each `(label, link)`, with arrows in the direction the data flowed. A box is as tall as
    its name needs: names are wrapped, never cut."""
    if not upstream and not downstream:
        return mark_safe("")  # a constant empty string
    box_w, line_h, pad, gap, lane = 220, 14, 6, 10, 70

    def box_height(label: str) -> float:
        return len(label_lines(label)) * line_h + 2 * pad

    def column_height(items: Sequence[tuple[str, str]]) -> float:
        return sum(box_height(label) for label, _ in items) + gap * max(len(items) - 1, 0)

    height = max(column_height(upstream), column_height(downstream), box_height(centre[0])) + 2 * gap
    width = 3 * box_w + 2 * lane

    def column(items: Sequence[tuple[str, str]], x: float) -> list[tuple[float, float, float, str, str]]:
        placed, y = [], (height - column_height(items)) / 2
        for label, link in items:
            placed.append((x, y, box_height(label), label, link))
            y += box_height(label) + gap
        return placed

    left = column(upstream, 0)
    right = column(downstream, 2 * (box_w + lane))
    middle = column([centre], box_w + lane)[0]
    middle_y = middle[1] + middle[2] / 2

    def box(x: float, y: float, h: float, label: str, link: str, emphasis: bool = False) -> SafeString:
        lines = format_html_join(
            "",
            '<tspan x="{}" dy="{}">{}</tspan>',
            ((f"{x + pad:.1f}", 0 if index == 0 else line_h, line) for index, line in enumerate(label_lines(label))),
        )
        return format_html(
            '<a href="{}"><title>{}</title><rect x="{}" y="{}" width="{}" height="{}" rx="4" fill="{}" stroke="#417690"/>'
            '<text x="{}" y="{}" font-size="11">{}</text></a>',
            link,
            label,
            f"{x:.1f}",
            f"{y:.1f}",
            box_w,
            f"{h:.1f}",
            "#e6f0f5" if emphasis else "#fff",
            f"{x + pad:.1f}",
            f"{y + pad + 10:.1f}",
            lines,
        )

    def arrow(x1: float, y1: float, x2: float, y2: float) -> SafeString:
        return format_html(
            '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#888" marker-end="url(#arrow)"/>',
            f"{x1:.1f}",
            f"{y1:.1f}",
            f"{x2:.1f}",
            f"{y2:.1f}",
        )

    parts = [box(*middle, emphasis=True)]
    for x, y, h, label, link in left:
        parts += [box(x, y, h, label, link), arrow(x + box_w, y + h / 2, middle[0], middle_y)]
    for x, y, h, label, link in right:
        parts += [box(x, y, h, label, link), arrow(middle[0] + box_w, middle_y, x, y + h / 2)]
    marker = mark_safe(  # a constant
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#888"/></marker></defs>'
    )
    return format_html(
        '<svg class="lineage" xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" viewBox="0 0 {} {}" '
        'role="img" aria-label="lineage: one edge away">{}{}</svg>',
        width,
        f"{height:.0f}",
        width,
        f"{height:.0f}",
        marker,
        mark_safe("".join(parts)),  # noqa: S308  # each part built by format_html
    )
