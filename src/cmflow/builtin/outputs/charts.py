"""Small inline SVG charts for self-contained reports (no script, no external file).

Labels come from data (account names ...) and are escaped; the SVG is built as text and
returned as :class:`markupsafe.Markup` only after escaping every piece of data in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from markupsafe import Markup, escape

from cmflow import format_value

PALETTE = ("#2563eb", "#94a3b8", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed")


@dataclass
class Series:
    name: str
    values: Sequence[float | None]
    colour: str


def grouped_bar_chart(categories: Sequence[str], series: Sequence[Series], *, unit: str = "",
                      width: int = 720, bar_height: int = 14, title: str = "") -> Markup:
    """Horizontal grouped bars: one group per category, one bar per series; missing values show '–'."""
    label_width, right_pad, top = 190, 70, 28
    group_height = bar_height * len(series) + 10
    height = top + group_height * len(categories) + 24
    values = [v for s in series for v in s.values if v is not None]
    maximum = max(values, default=0) or 1
    plot = width - label_width - right_pad
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="100%" role="img" aria-label="{escape(title)}" class="chart">']
    for index, item in enumerate(series):
        x = label_width + index * 170
        parts.append(f'<rect x="{x}" y="6" width="12" height="12" fill="{item.colour}"/>'
                     f'<text x="{x + 18}" y="16" class="legend">{escape(item.name)}</text>')
    for row, category in enumerate(categories):
        y0 = top + row * group_height
        parts.append(f'<text x="{label_width - 8}" y="{y0 + group_height / 2}" text-anchor="end" '
                     f'dominant-baseline="middle" class="label">{escape(_shorten(category))}</text>')
        for index, item in enumerate(series):
            value = item.values[row]
            y = y0 + index * bar_height
            if value is None:
                parts.append(f'<text x="{label_width + 4}" y="{y + bar_height - 3}" class="value">–</text>')
                continue
            length = max(0.0, value) / maximum * plot
            parts.append(f'<rect x="{label_width}" y="{y}" width="{length:.1f}" height="{bar_height - 2}" '
                         f'fill="{item.colour}" rx="2"><title>{escape(item.name)}: '
                         f'{escape(format_value(value, unit))}</title></rect>')
            parts.append(f'<text x="{label_width + length + 4:.1f}" y="{y + bar_height - 3}" '
                         f'class="value">{escape(format_value(value, unit))}</text>')
    parts.append(f'<line x1="{label_width}" y1="{top - 4}" x2="{label_width}" '
                 f'y2="{height - 20}" stroke="#cbd5e1"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _shorten(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
