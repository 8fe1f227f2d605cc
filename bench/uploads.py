"""What checking an upload by its content costs: `validate_upload` on the files a centre
receives and on the hostile ones it refuses, beside the bare baseline of what every upload
paid before (its first bytes sniffed, and its SHA-256 for the content-addressed store).

    .venv/bin/python -m bench.uploads [--repeat 5]

Prints, per file: its size, the median wall time and CPU time of the bare baseline and of
the full check, and the verdict. The files are made here (tests/files.py's generators),
so a run needs nothing but the venv.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import statistics
import time
import zipfile
from collections.abc import Callable

from infra.docstore import UploadRefused, sniff_media_type, validate_upload
from tests.files import image, pdf


def _bomb() -> bytes:
    """A DOCX whose one part unpacks to 200 MB of zeros (about 200 KB packed)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("word/document.xml", "w") as part:
            for _ in range(200):
                part.write(bytes(1024 * 1024))
    return out.getvalue()


def _noise_jpeg(side: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(out, "JPEG")
    return out.getvalue()


def files() -> list[tuple[str, str, bytes]]:
    return [
        ("one-page PDF", "a.pdf", pdf("Tờ khai")),
        ("10 MB PDF, 2,000 pages", "b.pdf", pdf("lớn", pages=2000, stream=bytes(10 << 20))),
        ("%PDF- then HTML", "c.pdf", b"%PDF-1.7\n<html><script>alert(1)</script></html>"),
        ("PNG 32x24", "d.png", image("PNG")),
        ("JPEG 3000x3000 noise", "e.jpg", _noise_jpeg(3000)),
        ("DOCX bomb (200 MB unpacked)", "f.docx", _bomb()),
    ]


def _median(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls) * 1000, statistics.median(cpus) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{'file':32} {'bytes':>12} {'bare ms':>9} {'check ms':>9} {'check CPU':>9}  verdict")
    for label, name, content in files():

        def bare(content: bytes = content, name: str = name) -> None:
            sniff_media_type(content, name)
            hashlib.sha256(content).digest()

        def check(content: bytes = content, name: str = name) -> str:
            try:
                return validate_upload(content, name)
            except UploadRefused as exc:
                return f"{exc.status} {exc}"

        bare_ms, _ = _median(bare, args.repeat)
        check_ms, check_cpu = _median(check, args.repeat)
        verdict = check()
        print(
            f"{label:32} {len(content):>12,} {bare_ms:>9.1f} {check_ms:>9.1f} "
            f"{check_cpu:>9.1f}  {verdict[:60]}"
        )


if __name__ == "__main__":
    main()
