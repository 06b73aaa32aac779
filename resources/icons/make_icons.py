"""Draw the Workbench icon: workbench.svg and workbench-<size>.png at the sizes desktops ask for.

The icon is a rounded tile with a rising training curve over three bars, drawn in the same
geometry for the SVG and (with Pillow, supersampled) for the PNGs. Run it after changing the
design: ``python resources/icons/make_icons.py``. The files it writes are committed.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
# Geometry on a 512 × 512 canvas, shared by both renderers.
TILE = (32, 32, 480, 480, 96)  # x0, y0, x1, y1, corner radius
TILE_TOP, TILE_BOTTOM = (37, 99, 235), (14, 165, 233)  # blue → sky gradient
BARS = [(120, 300, 180, 400), (226, 240, 286, 400), (332, 170, 392, 400)]
BAR_COLOUR = (255, 255, 255, 110)
CURVE = [(104, 330), (170, 250), (236, 228), (302, 160), (408, 118)]
CURVE_COLOUR = (250, 204, 21, 255)  # amber
CURVE_WIDTH = 30


def _hex(rgb) -> str:
    red, green, blue = rgb[:3]
    return f"#{red:02x}{green:02x}{blue:02x}"


def svg() -> str:
    """The icon as SVG text (the scalable icon for desktops and the source for other formats)."""
    x0, y0, x1, y1, r = TILE
    bars = "\n".join(
        f'  <rect x="{a}" y="{b}" width="{c - a}" height="{d - b}" rx="10" fill="#ffffff" '
        f'fill-opacity="{BAR_COLOUR[3] / 255:.2f}"/>' for a, b, c, d in BARS)
    points = " ".join(f"{x},{y}" for x, y in CURVE)
    return f"""<svg xmlns="http://www.w3.org/2000/svg" width="512" height="512" viewBox="0 0 512 512">
  <defs>
    <linearGradient id="tile" x1="0" y1="0" x2="0" y2="1">
      <stop offset="0" stop-color="{_hex(TILE_TOP)}"/>
      <stop offset="1" stop-color="{_hex(TILE_BOTTOM)}"/>
    </linearGradient>
  </defs>
  <rect x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" rx="{r}" fill="url(#tile)"/>
{bars}
  <polyline points="{points}" fill="none" stroke="{_hex(CURVE_COLOUR)}" stroke-width="{CURVE_WIDTH}"
            stroke-linecap="round" stroke-linejoin="round"/>
</svg>
"""


def raster(size: int) -> Image.Image:
    """The icon at size × size pixels, drawn 4× larger and downsampled for smooth edges."""
    scale = 4 * size / 512
    big = 4 * size

    def s(v: float) -> int:
        return round(v * scale)

    x0, y0, x1, y1, r = TILE
    gradient = Image.new("RGBA", (big, big))
    g = ImageDraw.Draw(gradient)
    for row in range(big):
        t = row / max(big - 1, 1)
        colour = tuple(round(a + (b - a) * t) for a, b in zip(TILE_TOP, TILE_BOTTOM, strict=True))
        g.line([(0, row), (big, row)], fill=colour + (255,))
    mask = Image.new("L", (big, big), 0)
    ImageDraw.Draw(mask).rounded_rectangle([s(x0), s(y0), s(x1), s(y1)], radius=s(r), fill=255)
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    image.paste(gradient, (0, 0), mask)
    overlay = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    d = ImageDraw.Draw(overlay)
    for a, b, c, e in BARS:
        d.rounded_rectangle([s(a), s(b), s(c), s(e)], radius=s(10), fill=BAR_COLOUR)
    width = s(CURVE_WIDTH)
    points = [(s(x), s(y)) for x, y in CURVE]
    d.line(points, fill=CURVE_COLOUR, width=width, joint="curve")
    for x, y in (points[0], points[-1]):  # round caps
        d.ellipse([x - width / 2, y - width / 2, x + width / 2, y + width / 2], fill=CURVE_COLOUR)
    image = Image.alpha_composite(image, overlay)
    return image.resize((size, size), Image.LANCZOS)


def main() -> None:
    (HERE / "workbench.svg").write_text(svg())
    for size in SIZES:
        raster(size).save(HERE / f"workbench-{size}.png", optimize=True)
    # The window icon the app loads, and the one PyInstaller embeds on Windows/macOS.
    raster(256).save(HERE / "workbench.png", optimize=True)
    raster(256).save(HERE / "workbench.ico", sizes=[(s, s) for s in (16, 24, 32, 48, 64, 128, 256)])
    print(f"wrote workbench.svg, workbench.png, workbench.ico and {len(SIZES)} PNG sizes to {HERE}")


if __name__ == "__main__":
    main()
