"""What one photo costs the server to check and re-encode: time and peak memory per picture.

    uv run python bench/decode.py                      # the app's sferum_lite/media.py
    git show b0e77a9:sferum_lite/media.py > /tmp/media_before.py
    uv run python bench/decode.py --media /tmp/media_before.py   # the code before issue 13 §4

Every picture is made in memory (solid colours: a few KB on the wire, as an attacker would send)
and handed to `process_photo` in a fresh process of its own, so `peak MB` (the process's peak
resident memory, VmHWM, less what it held before the call) is that picture's alone. The
last rows run four pictures at once in four threads, as four people posting together would.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import os
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# name -> (format, width, height, how), made by `make`
PICTURES = {
    "PNG 7000×7000, 1-bit (the issue's)": ("PNG", 7000, 7000, "1"),
    "PNG 7000×7000, palette + transparency": ("PNG", 7000, 7000, "P"),
    "WebP 7000×7000, lossless": ("WEBP", 7000, 7000, "lossless"),
    "HEIC header saying 7000×7000": ("HEIF", 7000, 7000, "ispe"),
    "PNG 5000×5000 (25 MP), palette + transparency": ("PNG", 5000, 5000, "P"),
    "PNG 5000×5000 (25 MP), RGB": ("PNG", 5000, 5000, "RGB"),
    "WebP 5000×5000 (25 MP), lossless": ("WEBP", 5000, 5000, "lossless"),
    "HEIC 5000×5000 (25 MP)": ("HEIF", 5000, 5000, "RGB"),
    "JPEG 8000×6000 (48 MP), baseline": ("JPEG", 8000, 6000, "baseline"),
    "JPEG 8000×6000 (48 MP), progressive": ("JPEG", 8000, 6000, "progressive"),
    "JPEG 4032×3024 (12 MP, a phone's)": ("JPEG", 4032, 3024, "baseline"),
}
PARALLEL = {  # name -> (picture, threads)
    "4 × PNG 5000×5000 P at once": ("PNG 5000×5000 (25 MP), palette + transparency", 4),
    "4 × PNG 7000×7000 P at once": ("PNG 7000×7000, palette + transparency", 4),
}


def make(fmt: str, width: int, height: int, how: str) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    if fmt == "PNG":
        mode = "RGB" if how == "RGB" else how
        params = {"transparency": 0} if how == "P" else {}
        Image.new(mode, (width, height), 1).save(out, "PNG", **params)
    elif fmt == "WEBP":
        Image.new("RGB", (width, height), "white").save(out, "WEBP", lossless=True)
    elif fmt == "JPEG":
        Image.new("RGB", (width, height), "white").save(
            out, "JPEG", progressive=how == "progressive"
        )
    elif fmt == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
        if how == "ispe":  # a small HEIC whose header claims the size (encoding 49 MP takes 5 s)
            Image.new("RGB", (64, 64), "white").save(out, "HEIF", quality=50)
            data = bytearray(out.getvalue())
            at = data.index(b"ispe")
            data[at + 8 : at + 16] = struct.pack(">II", width, height)
            return bytes(data)
        Image.new("RGB", (width, height), "white").save(out, "HEIF", quality=50)
    return out.getvalue()


def load_media(path: str | None):
    if path is None:
        sys.path.insert(0, str(ROOT))
        from sferum_lite import media

        return media
    spec = importlib.util.spec_from_file_location("media_under_test", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


def status_mb(field: str) -> float:
    """VmRSS (resident now) or VmHWM (the peak) of this process, in MB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise LookupError(field)


def reset_peak() -> float:
    """Start the peak over from what the process holds now (ru_maxrss would carry the parent's,
    the one that made the picture, across fork and exec); what it holds now."""
    Path("/proc/self/clear_refs").write_text("5")
    return status_mb("VmRSS")


def measure(media_path: str | None, data_path: str, threads: int) -> dict:
    """In this (fresh) process: process_photo on the picture, `threads` times at once."""
    media = load_media(media_path)
    data = Path(data_path).read_bytes()
    from flask import Flask
    from flask_babel import Babel

    app = Flask(__name__)  # MediaError's message is formatted with Flask-Babel
    Babel(app)
    results: list = [None] * threads
    before = reset_peak()
    wall, cpu = time.perf_counter(), time.process_time()

    def run(index):
        with app.test_request_context():
            try:
                photo = media.process_photo(data, "photo")
                results[index] = f"posted, {photo.width}×{photo.height}"
            except media.MediaError as error:
                results[index] = "refused: " + str(error)
            except Exception as error:  # noqa: BLE001 - a 500 in the app
                results[index] = f"ERROR {error!r}"

    workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return {
        "wall": time.perf_counter() - wall,
        "cpu": time.process_time() - cpu,
        "peak": status_mb("VmHWM") - before,
        "result": results[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", help="a media.py to measure instead of the app's")
    parser.add_argument("--only", help="only the pictures whose name contains this")
    parser.add_argument("--measure", nargs=2, help=argparse.SUPPRESS)  # DATA THREADS (child)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.media, args.measure[0], int(args.measure[1]))))
        return

    rows = [(name, PICTURES[name], 1) for name in PICTURES]
    rows += [(name, PICTURES[picture], threads) for name, (picture, threads) in PARALLEL.items()]
    if args.only:
        rows = [row for row in rows if args.only in row[0]]
    print(f"media: {args.media or ROOT / 'sferum_lite/media.py'}")
    print("| picture | KB | wall s | CPU s | peak MB | answer |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    with tempfile.TemporaryDirectory() as folder:
        for name, spec, threads in rows:
            data = make(*spec)
            path = os.path.join(folder, "picture")
            Path(path).write_bytes(data)
            command = [sys.executable, __file__, "--measure", path, str(threads)]
            if args.media:
                command += ["--media", args.media]
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode:
                print(
                    f"| {name} | {len(data) / 1024:.1f} | — | — | — | crashed: "
                    f"{done.stderr.strip().splitlines()[-1:]} |"
                )
                continue
            got = json.loads(done.stdout.strip().splitlines()[-1])
            answer = got["result"] if len(got["result"]) < 90 else got["result"][:87] + "…"
            print(
                f"| {name} | {len(data) / 1024:.1f} | {got['wall']:.2f} | {got['cpu']:.2f} "
                f"| {got['peak']:.0f} | {answer} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
