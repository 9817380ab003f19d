"""Draws the mailmfa application icon: a blue shield carrying a white envelope.

Writes assets/mailmfa.png (256x256) and assets/mailmfa.ico (16 to 256 pixels). Needs Pillow;
run once from the repository root: python3 scripts/make-icon.py
"""

from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

SCALE = 1024  # drawn large, then scaled down for smooth edges
BLUE_TOP = (38, 120, 214)
BLUE_BOTTOM = (16, 62, 140)
OUTLINE = (10, 40, 96)
WHITE = (255, 255, 255)
FLAP = (205, 222, 245)


def shield_points(s):
    """A shield outline: flat top with rounded shoulders, sides narrowing to a point."""
    pts = []
    left, right, top = 0.14 * s, 0.86 * s, 0.08 * s
    # Top edge with a shallow dip in the middle.
    steps = 40
    for i in range(steps + 1):
        t = i / steps
        x = left + (right - left) * t
        dip = 0.035 * s * (1 - (2 * t - 1) ** 2)
        pts.append((x, top + dip))
    # Right side: straight down, then a curve to the bottom point.
    for i in range(1, steps + 1):
        t = i / steps
        x = 0.5 * s + (right - 0.5 * s) * (1 - t**2.4) ** 0.75
        y = top + (0.94 * s - top) * t
        pts.append((x, y))
    # Left side mirrored, bottom to top.
    for i in range(steps - 1, 0, -1):
        t = i / steps
        x = 0.5 * s - (0.5 * s - left) * (1 - t**2.4) ** 0.75
        y = top + (0.94 * s - top) * t
        pts.append((x, y))
    return pts


def draw(s):
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    # Vertical gradient clipped to the shield.
    gradient = Image.new("RGBA", (s, s))
    gd = ImageDraw.Draw(gradient)
    for y in range(s):
        t = y / (s - 1)
        colour = tuple(int(a + (b - a) * t) for a, b in zip(BLUE_TOP, BLUE_BOTTOM))
        gd.line([(0, y), (s, y)], fill=colour + (255,))
    mask = Image.new("L", (s, s), 0)
    ImageDraw.Draw(mask).polygon(shield_points(s), fill=255)
    img.paste(gradient, (0, 0), mask)
    d = ImageDraw.Draw(img)
    d.line(shield_points(s) + [shield_points(s)[0]], fill=OUTLINE + (255,), width=int(0.025 * s), joint="curve")

    # Envelope: a white rounded rectangle with a flap.
    ex0, ey0, ex1, ey1 = 0.28 * s, 0.30 * s, 0.72 * s, 0.59 * s
    radius = int(0.03 * s)
    shadow = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    ImageDraw.Draw(shadow).rounded_rectangle(
        (ex0, ey0 + 0.015 * s, ex1, ey1 + 0.015 * s), radius=radius, fill=(0, 0, 0, 90)
    )
    img.alpha_composite(shadow.filter(ImageFilter.GaussianBlur(0.012 * s)))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((ex0, ey0, ex1, ey1), radius=radius, fill=WHITE)
    mid = ((ex0 + ex1) / 2, ey0 + 0.55 * (ey1 - ey0))
    w = int(0.022 * s)
    d.polygon([(ex0 + radius * 0.4, ey0 + radius * 0.4), (ex1 - radius * 0.4, ey0 + radius * 0.4), mid], fill=FLAP)
    d.line([(ex0 + radius * 0.5, ey0 + radius * 0.5), mid, (ex1 - radius * 0.5, ey0 + radius * 0.5)],
           fill=BLUE_BOTTOM + (255,), width=w, joint="curve")
    return img


def main():
    assets = Path(__file__).resolve().parent.parent / "assets"
    big = draw(SCALE)
    png = big.resize((256, 256), Image.LANCZOS)
    png.save(assets / "mailmfa.png")
    sizes = [16, 24, 32, 48, 64, 128, 256]
    frames = [big.resize((n, n), Image.LANCZOS) for n in sizes]
    frames[-1].save(assets / "mailmfa.ico", format="ICO", sizes=[(n, n) for n in sizes], append_images=frames[:-1])


if __name__ == "__main__":
    main()
