"""Dish photos: whatever is uploaded is decoded and re-encoded as a plain JPEG.

Re-encoding drops anything that is not pixels (EXIF with GPS, scripts in SVG or polyglot
files), so a photo is safe to serve from our own origin.
"""
import io
import uuid
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_SIDE = 1200
ALLOWED = {"JPEG", "PNG", "WEBP", "GIF"}
# A phone photo has ~12 M pixels. Pillow only *warns* up to twice its own limit, so save_photo
# checks the size in the header itself before anything is decoded (a 77 KB PNG can claim
# 80 M pixels) and Pillow's check, which would only warn, is off.
MAX_PIXELS = 40_000_000
Image.MAX_IMAGE_PIXELS = None


class PhotoError(ValueError):
    pass


def save_photo(data, folder, max_bytes):
    """Validate and store an upload; returns the new file name."""
    if not data:
        raise PhotoError("empty")
    if len(data) > max_bytes:
        raise PhotoError("too_large")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind = probe.format
            width, height = probe.size
            if width * height > MAX_PIXELS:
                raise PhotoError("too_many_pixels")
            probe.verify()
        if kind not in ALLOWED:
            raise PhotoError("not_image")
        with Image.open(io.BytesIO(data)) as img:
            img = ImageOps.exif_transpose(img).convert("RGB")
            img.thumbnail((MAX_SIDE, MAX_SIDE))
            name = f"{uuid.uuid4().hex}.jpg"
            Path(folder).mkdir(parents=True, exist_ok=True)
            img.save(Path(folder) / name, "JPEG", quality=82, optimize=True)
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError, ValueError) as e:
        if isinstance(e, PhotoError):
            raise
        raise PhotoError("not_image") from None
    return name
