"""Load and validate an album cover: any Pillow-readable image, EXIF-rotated, RGB, bounded in size."""
from __future__ import annotations

import errno
import hashlib
import io
import re
import unicodedata
import warnings
from dataclasses import dataclass
from pathlib import Path

from tools.errors import InputError

MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_PIXELS = 178_956_970  # Pillow's own bomb limit (2 x MAX_IMAGE_PIXELS); we refuse, never warn
WORKING_SIDE = 1024  # every model sees at most this; memory stays bounded whatever the input
SUPPORTED = "JPEG, PNG, WebP, GIF, BMP or TIFF"


@dataclass(frozen=True)
class Cover:
    path: Path
    sha256: str
    image: object  # PIL.Image.Image in RGB, longest side <= WORKING_SIDE
    original_size: tuple[int, int]
    format: str

    @property
    def stem(self) -> str:
        return safe_stem(self.path.stem)


def safe_stem(stem: str) -> str:
    """A file-system-safe folder prefix from an untrusted file stem."""
    text = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    text = re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-_.")
    return text[:48] or "cover"


def _read_bytes(path: Path) -> bytes:
    name = str(path)
    try:
        if path.is_dir():
            raise InputError(f"cover {name} is a directory: pass an image file")
        size = path.stat().st_size
        if size == 0:
            raise InputError(f"cover {name} is empty (0 bytes): pass a real image file")
        if size > MAX_FILE_BYTES:
            raise InputError(f"cover {name} is {size // 2**20} MiB: use an image under {MAX_FILE_BYTES // 2**20} MiB")
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"cover {name} not found: check the path") from None
    except PermissionError:
        raise InputError(f"cover {name} cannot be read (permission denied): fix its permissions") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputError(f"cover {name} is a symlink loop: pass the real image file") from None
        raise InputError(f"cover {name} cannot be read ({exc.strerror or exc}): check the file") from None


def _to_rgb(img):
    from PIL import Image

    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        import numpy as np

        arr = np.asarray(img, dtype=np.float64)
        peak = arr.max() or 1.0
        img = Image.fromarray((arr / peak * 255.0).clip(0, 255).astype("uint8"), "L")
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    return img.convert("RGB")


def load_cover(path: str | Path) -> Cover:
    """Read, validate and normalise a cover; raises InputError with a one-line reason."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    data = _read_bytes(path)
    name = str(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # we refuse bombs ourselves
            rgb, size, fmt = _decode(data)
    except Image.DecompressionBombError:
        raise InputError(f"cover {name} is too large to decode safely (over {MAX_PIXELS:,} pixels): "
                         "use a smaller image") from None
    except UnidentifiedImageError:
        raise InputError(f"cover {name} is not an image Pillow can read: use {SUPPORTED}") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InputError(f"cover {name} is truncated or corrupt ({str(exc).splitlines()[0][:80]}): re-export the image") from None
    return Cover(path=path.resolve(), sha256=hashlib.sha256(data).hexdigest(), image=rgb, original_size=size, format=fmt)


def _decode(data: bytes):
    """First frame, EXIF-rotated, downscaled to WORKING_SIDE, RGB; returns (image, original size, format)."""
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(data)) as img:
        fmt = img.format or "unknown"
        w, h = img.size
        if w * h > MAX_PIXELS:
            raise Image.DecompressionBombError(f"{w}x{h}")
        img.draft("RGB", (WORKING_SIDE, WORKING_SIDE))  # JPEG: decode at reduced scale, bounded memory
        img.seek(0)
        img.load()
        img = ImageOps.exif_transpose(img)
        img.thumbnail((WORKING_SIDE, WORKING_SIDE))
        return _to_rgb(img), (w, h), fmt
