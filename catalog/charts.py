"""Small charts drawn on the server as SVG, for pages that need no JavaScript to be read: a
feature's histogram, a class balance, a lineage neighbourhood. Every bar's height (or width) is
proportional to the count it stands for; text goes through format_html, so it is escaped."""

from __future__ import annotations

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


def lineage_svg(
    centre: tuple[str, str], upstream: Sequence[tuple[str, str]], downstream: Sequence[tuple[str, str]]
) -> SafeString:
    """The datasets one edge away: those it was made from on the left, those made from it on the
    right, each `(label, link)`, with arrows in the direction the data flowed."""
    if not upstream and not downstream:
        return mark_safe("")  # a constant empty string
    box_w, box_h, gap = 200, 26, 10
    rows = max(len(upstream), len(downstream), 1)
    height = rows * (box_h + gap) + gap
    width = 3 * box_w + 2 * 80
    centre_y = height / 2 - box_h / 2

    def column(items: Sequence[tuple[str, str]], x: float) -> list[tuple[float, float, str, str]]:
        top = (height - len(items) * (box_h + gap) + gap) / 2
        return [(x, top + index * (box_h + gap), label, link) for index, (label, link) in enumerate(items)]

    left = column(upstream, 0)
    right = column(downstream, 2 * box_w + 160)
    middle = (box_w + 80, centre_y, centre[0], centre[1])

    def box(x: float, y: float, label: str, link: str, emphasis: bool = False) -> SafeString:
        return format_html(
            '<a href="{}"><rect x="{}" y="{}" width="{}" height="{}" rx="4" fill="{}" stroke="#417690"/>'
            '<text x="{}" y="{}" font-size="11">{}</text></a>',
            link,
            f"{x:.1f}",
            f"{y:.1f}",
            box_w,
            box_h,
            "#e6f0f5" if emphasis else "#fff",
            f"{x + 6:.1f}",
            f"{y + 17:.1f}",
            label if len(label) <= 30 else label[:29] + "…",
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
    for x, y, label, link in left:
        parts += [box(x, y, label, link), arrow(x + box_w, y + box_h / 2, middle[0], centre_y + box_h / 2)]
    for x, y, label, link in right:
        parts += [box(x, y, label, link), arrow(middle[0] + box_w, centre_y + box_h / 2, x, y + box_h / 2)]
    marker = mark_safe(  # a constant
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#888"/></marker></defs>'
    )
    return format_html(
        '<svg class="lineage" xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" viewBox="0 0 {} {}" '
        'role="img" aria-label="lineage: one edge away">{}{}</svg>',
        width,
        height,
        width,
        height,
        marker,
        mark_safe("".join(parts)),  # noqa: S308  # each part built by format_html
    )
