"""Marketing data (rule O11): the published video's numbers over time, and what they cost."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape

from sqlalchemy import Engine, select

from db.engine import reading
from db.schema import video_stats


@dataclass(frozen=True)
class Sample:
    at: datetime
    video_id: str
    public: bool
    plays: int
    likes: int
    comments: int
    shares: int
    completion_rate: float

    @property
    def engagements(self) -> int:
        return self.likes + self.comments + self.shares


def samples(engine: Engine, order_id: str) -> list[Sample]:
    with reading(engine) as conn:
        rows = conn.execute(
            select(video_stats)
            .where(video_stats.c.order_id == order_id)
            .order_by(video_stats.c.sample)
        ).all()
    return [
        Sample(
            r.at, r.video_id, r.public, r.plays, r.likes, r.comments, r.shares, r.completion_rate
        )
        for r in rows
    ]


def per_unit(cost_fen: int, units: int, per: int = 1) -> int | None:
    """Cost of `per` units in fen, rounded half up in integers; None before the first unit."""
    if units <= 0:
        return None
    return (2 * cost_fen * per + units) // (2 * units)


def cpm_fen(cost_fen: int, plays: int) -> int | None:
    """Cost per thousand plays."""
    return per_unit(cost_fen, plays, per=1000)


def cpe_fen(cost_fen: int, engagements: int) -> int | None:
    """Cost per engagement (a like, a comment or a share)."""
    return per_unit(cost_fen, engagements)


def plays_chart_svg(
    order_id: str, points: list[Sample], width: int = 640, height: int = 320
) -> str:
    """A line chart of plays over time, as a standalone SVG document."""
    pad = 48
    title = f"Plays of order {escape(order_id)}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f"<title>{title}</title>",
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{pad}" y="24" font-size="14">{title}</text>',
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" '
        'stroke="#999"/>',
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="#999"/>',
    ]
    if not points:
        parts.append(
            f'<text x="{width // 2}" y="{height // 2}" text-anchor="middle">no data yet</text>'
        )
    else:
        t0, t1 = points[0].at.timestamp(), points[-1].at.timestamp()
        top = max(p.plays for p in points) or 1
        span = (t1 - t0) or 1.0

        def xy(p: Sample) -> tuple[float, float]:
            x = pad + (p.at.timestamp() - t0) / span * (width - 2 * pad)
            y = height - pad - p.plays / top * (height - 2 * pad)
            return round(x, 1), round(y, 1)

        coords = " ".join(f"{x},{y}" for x, y in map(xy, points))
        parts += [
            f'<polyline points="{coords}" fill="none" stroke="#e4393c" stroke-width="2"/>',
            *(f'<circle cx="{x}" cy="{y}" r="3" fill="#e4393c"/>' for x, y in map(xy, points)),
            f'<text x="{pad - 6}" y="{pad + 4}" text-anchor="end">{top:,}</text>',
            f'<text x="{pad - 6}" y="{height - pad + 4}" text-anchor="end">0</text>',
            f'<text x="{pad}" y="{height - pad + 18}">{points[0].at:%Y-%m-%d %H:%M}</text>',
            f'<text x="{width - pad}" y="{height - pad + 18}" text-anchor="end">'
            f"{points[-1].at:%Y-%m-%d %H:%M}</text>",
        ]
    parts.append("</svg>")
    return "\n".join(parts)
