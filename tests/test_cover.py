"""Cover loading: every Pillow-readable image works (RGB, EXIF-rotated, bounded); bad files fail in one line."""
import io
import os

import numpy as np
import pytest
from PIL import Image

from tools.cover import WORKING_SIDE, load_cover, safe_stem
from tools.errors import InputError


def _save(img, path, **kw):
    img.save(path, **kw)
    return path


def test_exif_orientation_is_applied(tmp_path):
    img = Image.new("RGB", (40, 20), (255, 0, 0))
    img.paste((0, 0, 255), (0, 0, 20, 20))  # left half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise when shown
    path = _save(img, tmp_path / "rot.jpg", exif=exif.tobytes())
    cover = load_cover(path)
    assert cover.image.size == (20, 40)
    top = np.asarray(cover.image)[2, 10]
    assert top[2] > 200 and top[0] < 60  # the blue half is now on top


@pytest.mark.parametrize("mode, kwargs", [
    ("RGBA", {}), ("LA", {}), ("CMYK", {"format": "JPEG"}), ("L", {}), ("P", {"transparency": 0}), ("I;16", {}),
])
def test_modes_become_rgb(tmp_path, mode, kwargs):
    img = Image.new(mode, (16, 16))
    ext = "jpg" if kwargs.get("format") == "JPEG" else "png"
    path = _save(img, tmp_path / f"m.{ext}", **kwargs)
    cover = load_cover(path)
    assert cover.image.mode == "RGB" and cover.image.size == (16, 16)


def test_large_image_is_downscaled_and_hash_is_of_the_file(tmp_path):
    path = _save(Image.new("RGB", (3000, 1500), (10, 20, 30)), tmp_path / "big.png")
    cover = load_cover(path)
    assert max(cover.image.size) == WORKING_SIDE and cover.original_size == (3000, 1500)
    import hashlib
    assert cover.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_animated_gif_uses_the_first_frame(tmp_path):
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 255, 0))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    assert np.asarray(load_cover(path).image)[0, 0, 0] > 200


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def _truncated_jpeg(tmp_path):
    buf = io.BytesIO()
    Image.effect_noise((64, 64), 50).convert("RGB").save(buf, format="JPEG")
    path = tmp_path / "cut.jpg"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    return path


@pytest.mark.parametrize("make, message", [
    (lambda p: p / "missing.png", "not found: check the path"),
    (lambda p: p, "is a directory: pass an image file"),
    (lambda p: _write(p / "empty.png", b""), "is empty (0 bytes)"),
    (lambda p: _write(p / "notes.png", b"not an image"), "is not an image Pillow can read"),
    (_truncated_jpeg, "is truncated or corrupt"),
])
def test_bad_covers_raise_one_line_input_errors(tmp_path, make, message):
    with pytest.raises(InputError) as info:
        load_cover(make(tmp_path))
    assert message in str(info.value) and "\n" not in str(info.value)
    assert info.value.exit_code == 2


def test_decompression_bomb_is_refused(tmp_path):
    path = tmp_path / "bomb.png"
    Image.new("1", (20000, 10000)).save(path)  # 200 Mpx, a few KB on disk
    with pytest.raises(InputError, match=r"too large to decode safely \(over 178,956,970 pixels\)"):
        load_cover(path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read anything")
def test_unreadable_file(tmp_path):
    path = _save(Image.new("RGB", (4, 4)), tmp_path / "secret.png")
    path.chmod(0)
    with pytest.raises(InputError, match="permission denied"):
        load_cover(path)


def test_symlink_loop(tmp_path):
    (tmp_path / "a.png").symlink_to(tmp_path / "b.png")
    (tmp_path / "b.png").symlink_to(tmp_path / "a.png")
    with pytest.raises(InputError, match="symlink loop"):
        load_cover(tmp_path / "a.png")


@pytest.mark.parametrize("stem, expected", [("My Album (2020)", "My-Album-2020"), ("../../etc", "etc"),
                                            ("Ünïcödé ✨", "Unicode"), ("...", "cover")])
def test_safe_stem(stem, expected):
    assert safe_stem(stem) == expected
