"""Charts drawn on the server as SVG: no script, no CDN, sharp in print and on a phone.

Colours come with dash patterns and point shapes, so a black-and-white printout still tells
the lines apart; every chart carries a <title> and sits beside the table it draws.
"""
import math

from markupsafe import Markup, escape

COLOURS = ("#1f5fa8", "#c0392b", "#2e8b57", "#8e44ad", "#d35400", "#2c3e50", "#b7950b", "#16a085")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "1 2", "10 4", "4 2 1 2", "3 3")
W, H = 640, 280
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 16, 44
FONT = 14  # drawn at 640 wide: still about 9 px on a 390 px phone


def _width(text, size):
    """Roughly how wide `text` is drawn at font size `size` (CJK about square, Latin narrower)."""
    return sum(size if ord(c) > 0x2E80 else size * 0.56 for c in str(text))


def _score_axis(values, y_min, y_max):
    """A score axis around the values (half points), so 3.6 against 3.9 does not look flat;
    at least one point high, and always labelled."""
    present = [v for v in values if v is not None]
    if not present:
        return y_min, y_max, 1.0
    low = max(y_min, math.floor((min(present) - 0.25) * 2) / 2)
    high = min(y_max, math.ceil((max(present) + 0.25) * 2) / 2)
    if high - low < 1:
        low, high = max(y_min, high - 1), max(y_min, high - 1) + 1
    return low, high, 0.5 if high - low <= 2.5 else 1.0


def _svg(title, body, height=H):
    return Markup(
        f'<svg class="chart" viewBox="0 0 {W} {height}" role="img" xmlns="http://www.w3.org/2000/svg">'
        f'<title>{escape(title)}</title>{body}</svg>')


def _text(x, y, text, anchor="middle", size=11, extra=""):
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
            f'fill="#333" {extra}>{escape(text)}</text>')


def line_chart(title, labels, series, marks=(), y_min=1.0, y_max=5.0):
    """`series`: [(name, [value or None per label])]; a None leaves a gap (suppressed week).
    `marks`: [(position as a fractional label index, text)] drawn as dashed verticals."""
    y_min, y_max, tick = _score_axis([v for _n, values in series for v in values], y_min, y_max)
    y_ticks = [y_min + i * tick for i in range(int(round((y_max - y_min) / tick)) + 1)]
    legend_rows = (len(series) + 2) // 3
    height = H + 18 * legend_rows
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM
    n = max(len(labels), 1)

    def x(i):
        return LEFT + (plot_w * (i + 0.5) / n)

    def y(v):
        return TOP + plot_h * (1 - (v - y_min) / (y_max - y_min))

    parts = []
    for t in y_ticks:
        parts.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y(t):.1f}" y2="{y(t):.1f}" stroke="#ddd"/>')
        parts.append(_text(LEFT - 6, y(t) + 5, f"{t:g}", anchor="end", size=FONT))
    step = max(1, (n + 7) // 8)  # at most about 8 labels under the axis, readable on a phone
    for i, label in enumerate(labels):
        if i % step == 0:
            parts.append(_text(x(i), H - BOTTOM + 18, label, size=FONT))
    for pos, text in marks:
        mx = x(pos)
        parts.append(f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="{TOP}" y2="{H - BOTTOM}" stroke="#555" '
                     f'stroke-dasharray="4 3"/>')
        right = mx + 4 + _width(text, FONT) <= W - RIGHT  # else written to the left of the line
        parts.append(_text(mx + 4 if right else mx - 4, TOP + 12, text, anchor="start" if right else "end",
                           size=FONT))
    for k, (name, values) in enumerate(series):
        colour, dash = COLOURS[k % len(COLOURS)], DASHES[k % len(DASHES)]
        runs, run = [], []
        for i, v in enumerate(values):
            if v is None:
                if run:
                    runs.append(run)
                run = []
            else:
                run.append((x(i), y(v)))
        if run:
            runs.append(run)
        for r in runs:
            points = " ".join(f"{px:.1f},{py:.1f}" for px, py in r)
            parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2.5" '
                         f'stroke-dasharray="{dash}"/>')
            for px, py in r:
                parts.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3.5" fill="{colour}"/>')
        lx = LEFT + (k % 3) * (plot_w / 3)
        ly = H - 8 + 18 * (k // 3)
        parts.append(f'<line x1="{lx:.1f}" x2="{lx + 24:.1f}" y1="{ly - 4:.1f}" y2="{ly - 4:.1f}" '
                     f'stroke="{colour}" stroke-width="2.5" stroke-dasharray="{dash}"/>')
        parts.append(_text(lx + 30, ly, name, anchor="start", size=FONT))
    return _svg(title, "".join(parts), height)


def bar_chart(title, rows, unit=""):
    """Horizontal bars: [(label, value)]; the value is written at the bar's end."""
    if not rows:
        return Markup("")
    bar, gap, label_w = 20, 8, 150
    height = TOP + len(rows) * (bar + gap) + 8
    top = max(v for _l, v in rows) or 1
    parts = []
    for i, (label, value) in enumerate(rows):
        y0 = TOP + i * (bar + gap)
        width = (W - label_w - 60) * value / top
        parts.append(_text(label_w - 8, y0 + bar * 0.7, label, anchor="end"))
        parts.append(f'<rect x="{label_w}" y="{y0}" width="{width:.1f}" height="{bar}" fill="{COLOURS[0]}"/>')
        parts.append(_text(label_w + width + 6, y0 + bar * 0.7, f"{value}{unit}", anchor="start"))
    return _svg(title, "".join(parts), height)


def scatter(title, points, x_label, y_label, y_min=1.0, y_max=5.0):
    """[(label, x, y)]: e.g. price against fair score, the value-for-money view."""
    if not points:
        return Markup("")
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM
    step = next((s for s in (0.5, 1, 2, 5, 10, 20, 50, 100) if max(p[1] for p in points) / s <= 8), 200)
    x_max = (int(max(p[1] for p in points) / step) + 1) * step
    # start the score axis near the lowest dish, so that 30 dishes between 3 and 4.5 spread out
    y_min = max(y_min, min(math.floor(min(p[2] for p in points) * 2) / 2 - 0.5, y_max - 1))

    def sx(v):
        return LEFT + plot_w * v / x_max

    def sy(v):
        return TOP + plot_h * (1 - (v - y_min) / (y_max - y_min))

    parts = []
    t = y_min
    while t <= y_max + 1e-9:
        parts.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{sy(t):.1f}" y2="{sy(t):.1f}" stroke="#ddd"/>')
        parts.append(_text(LEFT - 6, sy(t) + 5, f"{t:g}", anchor="end", size=FONT))
        t += 0.5
    v = 0.0
    while v <= x_max + 1e-9:
        parts.append(_text(sx(v), H - BOTTOM + 18, f"{v:g}", size=FONT))
        v += step
    parts.append(_text(LEFT + plot_w / 2, H - 6, x_label, size=FONT))
    parts.append(_text(14, TOP + plot_h / 2, y_label, size=FONT,
                       extra=f'transform="rotate(-90 14 {TOP + plot_h / 2:.1f})"'))
    taken = []  # label boxes already drawn: a label that would cover another is left off
    for label, px, py in sorted(points, key=lambda p: -p[2]):
        cx, cy = sx(px), sy(py)
        parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="5" fill="{COLOURS[0]}"><title>{escape(label)} '
                     f'{px:g} / {py:g}</title></circle>')
        width = _width(label, 12)
        for x0, anchor in ((cx + 8, "start"), (cx - 8 - width, "end")):
            box = (x0, cy - 10, x0 + width, cy + 4)
            inside = LEFT <= box[0] and box[2] <= W - RIGHT
            if inside and not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in taken):
                taken.append(box)
                parts.append(_text(cx + 8 if anchor == "start" else cx - 8, cy + 4, label, anchor=anchor, size=12))
                break
    return _svg(title, "".join(parts))


FACE_COLOURS = ("#c0392b", "#e67e22", "#bdc3c7", "#7fb77e", "#2e8b57")


def face_strip(faces):
    """A small stacked bar of faces 1–5 (red to green), for a table cell."""
    n = sum(faces) or 1
    x, parts = 0.0, []
    for count, colour in zip(faces, FACE_COLOURS):
        width = 120 * count / n
        if width:
            parts.append(f'<rect x="{x:.1f}" y="0" width="{width:.1f}" height="14" fill="{colour}"/>')
        x += width
    label = " / ".join(str(c) for c in faces)
    return Markup(f'<svg class="face-strip" viewBox="0 0 120 14" width="120" height="14" role="img">'
                  f'<title>{escape(label)}</title>{"".join(parts)}</svg>')
