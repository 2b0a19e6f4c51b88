"""Signature and seal images: checking uploaded ones, and drawing demo ones.

Decree 30/2020/NĐ-CP, Appendix I wants the official's handwritten signature in blue and the organisation's
seal in red, both as PNG with a transparent background, so that the seal laid over a third of the signature
lets the signature show through. ``check_png`` refuses what cannot be used that way; ``demo_signature_png``
and ``demo_seal_png`` draw plausible stand-ins for the demo and the tests (never for a real document).
"""
from __future__ import annotations

import functools
import hashlib
import io
import math
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from meetings.signing.fonts import covers_vietnamese, nfc

INK_BLUE = (18, 44, 158)
SEAL_RED = (214, 24, 30)

# Supersampling: drawn at this many times the size and reduced, which smooths Pillow's aliased strokes.
_SUPERSAMPLE = 3

_SEAL_FONTS: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/liberation2/LiberationSerif-Bold.ttf"),
    Path("/usr/share/fonts/truetype/croscore/Tinos-Bold.ttf"),
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf"),
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
)


# ---- checking an uploaded image ---------------------------------------------------------------------------

def check_png(data: bytes, *, max_bytes: int = 2_000_000, max_pixels: int = 4_000_000) -> bytes:
    """``data`` if it is a usable signature or seal image, else ``ValueError`` with a one-line reason.

    Usable: really a PNG, at most ``max_bytes`` and ``max_pixels``, whole, with an alpha channel (or a
    transparent palette colour), partly transparent and not entirely so.
    """
    if not isinstance(data, (bytes, bytearray)) or not data:
        raise ValueError("the image is empty")
    if len(data) > max_bytes:
        raise ValueError(f"the image is too large ({len(data)} bytes; at most {max_bytes})")
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValueError("the image is not a PNG file")
    if not bytes(data[-12:]) == b"\x00\x00\x00\x00IEND\xaeB`\x82":
        # Checked here, not left to Pillow: importing WeasyPrint sets ImageFile.LOAD_TRUNCATED_IMAGES for the
        # whole process, and Pillow then decodes a cut file without a word.
        raise ValueError("the PNG file is damaged (it is cut short)")
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as img:
            # The header alone gives the size: refuse a decompression bomb before decoding it.
            width, height = img.size
            if width < 8 or height < 8:
                raise ValueError(f"the image is too small ({width}×{height} pixels)")
            if width * height > max_pixels:
                raise ValueError(f"the image has too many pixels ({width}×{height}; at most {max_pixels})")
            if not _has_alpha(img):
                raise ValueError("the image has no transparency (a PNG with an alpha channel is needed)")
            img.load()
            alpha = img.convert("RGBA").getchannel("A")
    except ValueError:
        raise
    except (OSError, SyntaxError, Image.DecompressionBombError) as err:
        raise ValueError(f"the PNG file is damaged ({_first_line(err)})") from None
    low, high = alpha.getextrema()
    if high == 0:
        raise ValueError("the image is entirely transparent")
    if low == 255:
        raise ValueError("the image has no transparent background")
    return bytes(data)


def _has_alpha(img: Image.Image) -> bool:
    return img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def load_rgba(data: bytes) -> Image.Image:
    """A checked PNG decoded as RGBA (palette and grey images with transparency included)."""
    with Image.open(io.BytesIO(check_png(data)), formats=["PNG"]) as img:
        return img.convert("RGBA")


# ---- demo images ----------------------------------------------------------------------------------------

def _png(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=False, compress_level=6)
    return out.getvalue()


def _catmull_rom(points: list[tuple[float, float]], samples_per_segment: int) -> list[tuple[float, float]]:
    """A smooth curve through every point (centripetal enough for hand-like strokes)."""
    if len(points) < 2:
        return list(points)
    padded = [points[0], *points, points[-1]]
    curve: list[tuple[float, float]] = []
    for i in range(1, len(padded) - 2):
        p0, p1, p2, p3 = padded[i - 1], padded[i], padded[i + 1], padded[i + 2]
        for step in range(samples_per_segment):
            t = step / samples_per_segment
            t2, t3 = t * t, t * t * t
            curve.append(tuple(  # type: ignore[arg-type]
                0.5 * (2 * p1[k] + (-p0[k] + p2[k]) * t + (2 * p0[k] - 5 * p1[k] + 4 * p2[k] - p3[k]) * t2
                       + (-p0[k] + 3 * p1[k] - 3 * p2[k] + p3[k]) * t3)
                for k in (0, 1)))
    curve.append(points[-1])
    return curve


def _draw_stroke(draw: ImageDraw.ImageDraw, curve: list[tuple[float, float]], *, width: float,
                 rng: random.Random, color: tuple[int, int, int]) -> None:
    """A pen stroke: round dabs along the curve, thinner where the pen moves fast, tapering at both ends."""
    n = len(curve)
    phase = rng.uniform(0, math.tau)
    for i in range(n):
        x, y = curve[i]
        j = min(i + 1, n - 1)
        speed = math.dist(curve[i - 1] if i else curve[0], curve[j])
        taper = min(1.0, i / 25, (n - 1 - i) / 25) if n > 50 else 1.0
        pressure = 0.75 + 0.25 * math.sin(phase + i / 40) - min(0.3, speed / 60)
        radius = max(0.6, width / 2 * pressure * (0.35 + 0.65 * taper))
        # Dabs every pixel or so along the curve: interpolate where the curve jumps.
        steps = max(1, int(speed / 2 / max(radius, 1) * 2))
        px, py = curve[i - 1] if i else curve[0]
        for s in range(1, steps + 1):
            cx, cy = px + (x - px) * s / steps, py + (y - py) * s / steps
            draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=(*color, 255))


def demo_signature_png(name: str, seed: int) -> bytes:
    """A blue, handwritten-looking stroke signature on a transparent background, 600×240 px.

    Deterministic for a given name and seed, different between people: a big initial loop, a run of cursive
    humps, and a flourish underneath.
    """
    width, height = 600, 240
    s = _SUPERSAMPLE
    rng = random.Random(hashlib.sha256(f"{nfc(name)}\x00{seed}".encode()).digest())
    canvas = Image.new("RGBA", (width * s, height * s), (*INK_BLUE, 0))
    draw = ImageDraw.Draw(canvas)
    mid = height * 0.52
    slant = rng.uniform(0.18, 0.35)  # handwriting leans right: x shifts with height

    def pt(x: float, y: float) -> tuple[float, float]:
        return ((x + (mid - y) * slant) * s, y * s)

    # The initial: up high, round to the left, down below the line, back up into the body.
    x0 = rng.uniform(30, 60)
    top, low = rng.uniform(18, 40), rng.uniform(178, 200)
    if rng.random() < 0.5:
        initial = [(x0 + 30, mid + 10), (x0 + 60, top + 25), (x0 + 42, top), (x0 + 5, top + 30),
                   (x0 + 10, mid + 20), (x0 + 38, low), (x0 + 62, mid + 30), (x0 + 72, mid)]
    else:  # an open bowl instead of a closed loop
        initial = [(x0, mid + 30), (x0 + 15, top + 10), (x0 + 35, top), (x0 + 60, top + 40),
                   (x0 + 30, mid + 5), (x0 + 10, mid + 10), (x0 + 55, mid + 12), (x0 + 72, mid - 5)]
    # The body: humps of varying height across most of the width, now and then a loop above the line.
    body: list[tuple[float, float]] = []
    x = x0 + 80
    humps = rng.randint(6, 9)
    step = rng.uniform(0.5, 0.62) * width / humps
    for _ in range(humps):
        x += step * rng.uniform(0.75, 1.25)
        if rng.random() < 0.3:
            body += [(x - 6, mid - rng.uniform(45, 70)), (x - 18, mid - rng.uniform(30, 50)), (x, mid + 8)]
        else:
            body += [(x - step / 2.5, mid - rng.uniform(14, 34)), (x, mid + rng.uniform(6, 18))]
    end_x = min(x + rng.uniform(15, 30), width - 70)
    # The flourish: down to the right, then a long sweep back under everything.
    dip = rng.uniform(55, 72)
    flourish = [(end_x, mid + 20), (end_x + 25, mid + 42), (end_x - 30, mid + dip),
                (x0 + 160, mid + dip + 6), (x0 + 30, mid + dip - 8), (x0 - 15, mid + dip - 20)]
    points = [pt(px, py) for px, py in [*initial, *body, *flourish]]
    pen = rng.uniform(3.6, 4.6) * s  # about 4 px wide once reduced
    _draw_stroke(draw, _catmull_rom(points, 24), width=pen, rng=rng, color=INK_BLUE)
    # A quick bar across the initial, as many signatures have.
    bar = [pt(x0 + 5, top + 55), pt(x0 + 50, top + 47), pt(x0 + 105, top + 52)]
    _draw_stroke(draw, _catmull_rom(bar, 30), width=pen * 0.8, rng=rng, color=INK_BLUE)
    return _png(canvas.resize((width, height), Image.Resampling.LANCZOS))


@functools.cache
def _seal_font_path() -> Path:
    for path in _SEAL_FONTS:
        if path.is_file() and covers_vietnamese(path):
            return path
    raise FileNotFoundError("no bold font with Vietnamese letters for the seal; install fonts-liberation2")


def _star(cx: float, cy: float, outer: float, *, rotation: float = -90) -> list[tuple[float, float]]:
    inner = outer * 0.382  # a regular five-pointed star
    points = []
    for k in range(10):
        r = outer if k % 2 == 0 else inner
        angle = math.radians(rotation + k * 36)
        points.append((cx + r * math.cos(angle), cy + r * math.sin(angle)))
    return points


def _ring_text(canvas: Image.Image, text: str, *, center: float, baseline_radius: float, max_height: float,
               font_path: Path, color: tuple[int, int, int]) -> None:
    """``text`` around the top of the ring, read clockwise, letters upright towards the outside."""
    size = int(max_height)
    while True:
        font = ImageFont.truetype(str(font_path), size)
        spacing = size * 0.12
        advances = [font.getlength(ch) + spacing for ch in text]
        span = sum(advances) / baseline_radius  # radians
        # Letters are measured on the baseline; their tops sit further out, where the arc is longer.
        if span <= math.radians(290) or size <= 12:
            break
        size -= 2
    angle = -math.pi / 2 - span / 2
    tile_size = int(size * 2.6)
    for ch, advance in zip(text, advances, strict=True):
        theta = angle + advance / 2 / baseline_radius
        angle += advance / baseline_radius
        if ch.isspace():
            continue
        tile = Image.new("RGBA", (tile_size, tile_size), (*color, 0))
        ImageDraw.Draw(tile).text((tile_size / 2, tile_size / 2), ch, font=font, fill=(*color, 255), anchor="ms")
        tile = tile.rotate(-math.degrees(theta + math.pi / 2), resample=Image.Resampling.BICUBIC)
        x = center + baseline_radius * math.cos(theta) - tile_size / 2
        y = center + baseline_radius * math.sin(theta) - tile_size / 2
        canvas.alpha_composite(tile, (round(x), round(y)))
    # A small star closes the ring at the bottom, between the end and the start of the name.
    gap = math.tau - span
    if gap > math.radians(30):
        ImageDraw.Draw(canvas).polygon(
            _star(center, center + baseline_radius + size * 0.32, size * 0.42, rotation=-90), fill=(*color, 255))


def demo_seal_png(org_name: str) -> bytes:
    """A red round seal on a transparent background, 600×600 px: two rings, the name around, a star inside."""
    size = 600
    s = 2
    full = size * s
    center = full / 2
    canvas = Image.new("RGBA", (full, full), (*SEAL_RED, 0))
    draw = ImageDraw.Draw(canvas)
    outer, outer_width = center - 10 * s, 11 * s
    inner, inner_width = outer - 78 * s, 4 * s
    draw.ellipse((center - outer, center - outer, center + outer, center + outer), outline=(*SEAL_RED, 255),
                 width=outer_width)
    draw.ellipse((center - inner, center - inner, center + inner, center + inner), outline=(*SEAL_RED, 255),
                 width=inner_width)
    band = (outer - outer_width) - inner
    _ring_text(canvas, nfc(org_name).strip().upper(), center=center, baseline_radius=inner + band * 0.2,
               max_height=band * 0.62, font_path=_seal_font_path(), color=SEAL_RED)
    draw.polygon(_star(center, center + 8 * s, inner * 0.42), fill=(*SEAL_RED, 255))
    return _png(canvas.resize((size, size), Image.Resampling.LANCZOS))
