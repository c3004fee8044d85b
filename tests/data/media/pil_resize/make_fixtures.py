"""Expected outputs of the reference's resize_and_centercrop (wan/multitalk.py) for tests/media/test_resize.cpp.

Run with a Python that has Pillow (Debian: /usr/bin/python3 with python3-pil):
    /usr/bin/python3 tests/data/media/pil_resize/make_fixtures.py
Writes <name>.rgb (raw RGB24, row-major) next to this script. The input pattern must stay identical to
pattern() in test_resize.cpp. The crop replicates torchvision.transforms.functional.center_crop
(top = int(round((h - crop_h) / 2.0))), which is not installed here.
"""
import math
import os

from PIL import Image

CASES = [  # name, input width, input height, target width, target height
    ("down_97x61_to_40x24", 97, 61, 40, 24),
    ("up_13x9_to_32x20", 13, 9, 32, 20),
    ("down_50x80_to_20x44", 50, 80, 20, 44),
    ("down_120x90_to_56x40", 120, 90, 56, 40),
    ("tall_31x100_to_24x64", 31, 100, 24, 64),
]


def pattern(w, h):
    data = bytearray()
    for y in range(h):
        for x in range(w):
            data += bytes(((x * 37 + y * 11) & 255, (x * x + 3 * y * y + x * y) & 255, (255 * (x + y)) // (w + h - 2)))
    return Image.frombytes("RGB", (w, h), bytes(data))


def resize_and_centercrop(image, target_h, target_w):
    orig_h, orig_w = image.height, image.width
    scale = max(target_h / orig_h, target_w / orig_w)
    final_h, final_w = math.ceil(scale * orig_h), math.ceil(scale * orig_w)
    resized = image.resize((final_w, final_h), resample=Image.BILINEAR)
    top = int(round((final_h - target_h) / 2.0))
    left = int(round((final_w - target_w) / 2.0))
    return resized.crop((left, top, left + target_w, top + target_h))


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    for name, w, h, tw, th in CASES:
        out = resize_and_centercrop(pattern(w, h), th, tw)
        with open(os.path.join(here, name + ".rgb"), "wb") as f:
            f.write(out.tobytes())
