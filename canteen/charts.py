"""Charts drawn on the server as SVG: no script, no CDN, sharp in print and on a phone.

Colours come with dash patterns and point shapes, so a black-and-white printout still tells
the lines apart; every chart carries a <title> and sits beside the table it draws.
"""
from markupsafe import Markup, escape

COLOURS = ("#1f5fa8", "#c0392b", "#2e8b57", "#8e44ad", "#d35400", "#2c3e50", "#b7950b", "#16a085")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "1 2", "10 4", "4 2 1 2", "3 3")
W, H = 640, 280
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 16, 44


def _svg(title, body, height=H):
    return Markup(
        f'<svg class="chart" viewBox="0 0 {W} {height}" role="img" xmlns="http://www.w3.org/2000/svg">'
        f'<title>{escape(title)}</title>{body}</svg>')


def _text(x, y, text, anchor="middle", size=11, extra=""):
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
            f'fill="#333" {extra}>{escape(text)}</text>')


def line_chart(title, labels, series, marks=(), y_min=1.0, y_max=5.0, y_ticks=(1, 2, 3, 4, 5)):
    """`series`: [(name, [value or None per label])]; a None leaves a gap (suppressed week).
    `marks`: [(position as a fractional label index, text)] drawn as dashed verticals."""
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
        parts.append(_text(LEFT - 6, y(t) + 4, str(t), anchor="end"))
    step = max(1, (n + 11) // 12)  # at most about 12 labels under the axis
    for i, label in enumerate(labels):
        if i % step == 0:
            parts.append(_text(x(i), H - BOTTOM + 16, label, size=10))
    for pos, text in marks:
        mx = x(pos)
        parts.append(f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="{TOP}" y2="{H - BOTTOM}" stroke="#555" '
                     f'stroke-dasharray="4 3"/>')
        parts.append(_text(mx + 3, TOP + 10, text, anchor="start", size=10))
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
        parts.append(_text(lx + 30, ly, name, anchor="start"))
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
    y_min = max(y_min, min(int(min(p[2] for p in points) * 2) / 2 - 0.5, y_max - 1))

    def sx(v):
        return LEFT + plot_w * v / x_max

    def sy(v):
        return TOP + plot_h * (1 - (v - y_min) / (y_max - y_min))

    parts = []
    t = y_min
    while t <= y_max + 1e-9:
        parts.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{sy(t):.1f}" y2="{sy(t):.1f}" stroke="#ddd"/>')
        parts.append(_text(LEFT - 6, sy(t) + 4, f"{t:g}", anchor="end"))
        t += 0.5
    v = 0.0
    while v <= x_max + 1e-9:
        parts.append(_text(sx(v), H - BOTTOM + 16, f"{v:g}", size=10))
        v += step
    parts.append(_text(LEFT + plot_w / 2, H - 8, x_label))
    parts.append(_text(12, TOP + plot_h / 2, y_label, extra=f'transform="rotate(-90 12 {TOP + plot_h / 2:.1f})"'))
    for label, px, py in points:
        parts.append(f'<circle cx="{sx(px):.1f}" cy="{sy(py):.1f}" r="4.5" fill="{COLOURS[0]}"/>')
        parts.append(_text(sx(px) + 7, sy(py) + 4, label, anchor="start", size=10))
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
