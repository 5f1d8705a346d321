"""Pictures of the real window, taken from the X server (python-xlib), saved as small PNGs (Pillow).

WebKitWebDriver's own screenshot command never returns for this window (measured: no answer
within 2 minutes), so the picture is read from Xvfb instead: what a person would see, with no
window manager's frame around it."""

from pathlib import Path

from desktop import TITLE, find_window


def save_window(display_name, path: Path, colors=256):
    """Saves the app's window as a palette PNG (`colors` colours: a UI's flat colours survive,
    and the file stays small)."""
    from PIL import Image
    from Xlib import X, display as xdisplay

    d = xdisplay.Display(display_name)
    try:
        window = find_window(d.screen().root, TITLE)
        if window is None:
            raise RuntimeError(f"no mapped window named {TITLE!r} on {display_name}")
        g = window.get_geometry()
        raw = window.get_image(0, 0, g.width, g.height, X.ZPixmap, 0xFFFFFFFF).data
    finally:
        d.close()
    image = Image.frombytes("RGB", (g.width, g.height), raw, "raw", "BGRX")
    path.parent.mkdir(parents=True, exist_ok=True)
    image.quantize(colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)
    return path
