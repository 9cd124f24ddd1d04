"""Images: each one's shape, content hash, perceptual hash and, for the first of each class, a thumbnail."""

from __future__ import annotations

import contextlib
import hashlib
import io
import warnings
from typing import Any

import pyarrow as pa
from PIL import Image, ImageOps, UnidentifiedImageError

from profiler.files import read_bytes
from profiler.media.partition import Item, MediaPartition, implicit_schema, with_state
from profiler.state import MediaState, PartialProfile

# Files larger than this are listed as unreadable rather than decoded.
MAX_IMAGE_BYTES = 128 * 1024 * 1024
# Pillow refuses images above its MAX_IMAGE_PIXELS (a decompression bomb); so do we, at this size.
MAX_IMAGE_PIXELS = 178_956_970
THUMBNAILS_PER_CLASS = 4
THUMBNAIL_SIDE = 128


IMAGE_SCHEMA_BASE = [
    ("format", pa.string()),
    ("mode", pa.string()),
    ("channels", pa.int32()),
    ("width", pa.int64()),
    ("height", pa.int64()),
    ("aspect_ratio", pa.float64()),
    ("frames", pa.int32()),
    ("bytes", pa.int64()),
]
IMAGE_RECORDS = pa.schema(
    [
        ("path", pa.string()),
        ("label", pa.string()),
        ("split", pa.string()),
        ("content", pa.binary(32)),
        ("near", pa.uint64()),
    ]
)


def profile_images(partition: MediaPartition, file_index: int, seed: int) -> PartialProfile:
    rows: dict[str, list[Any]] = {name: [] for name in implicit_schema(partition, IMAGE_SCHEMA_BASE).names}
    records: dict[str, list[Any]] = {name: [] for name in IMAGE_RECORDS.names}
    state = MediaState(kind="images")
    for item in partition.items:
        described = _image(item, thumbnail=state.wants_thumbnail(item.label))
        rows["path"].append(item.relative_path)
        if partition.labelled:
            rows["label"].append(item.label)
        if partition.has_splits:
            rows["split"].append(item.split)
        for name, _ in IMAGE_SCHEMA_BASE:
            rows[name].append(described.get(name))
        records["path"].append(item.relative_path)
        records["label"].append(item.label)
        records["split"].append(item.split)
        records["content"].append(described.get("content"))
        records["near"].append(described.get("near"))
        if "error" in described:
            state.add_unreadable(item.relative_path, described["error"])
        elif "thumbnail" in described:
            state.add_thumbnail(item.label, item.relative_path, *described["thumbnail"])
    schema = implicit_schema(partition, IMAGE_SCHEMA_BASE)
    state.records = pa.Table.from_pydict(records, schema=IMAGE_RECORDS)
    return with_state(partition, [pa.RecordBatch.from_pydict(rows, schema=schema)], schema, state, file_index, seed)


def _image(item: Item, *, thumbnail: bool) -> dict[str, Any]:
    """What one image file is: its shape, its hashes and a thumbnail; or why it cannot be read."""
    try:
        data = read_bytes(item.file, MAX_IMAGE_BYTES + 1)
    except OSError as exc:
        return {"error": f"cannot be read: {exc.strerror or exc}"}
    described: dict[str, Any] = {"bytes": len(data)}
    if len(data) > MAX_IMAGE_BYTES:
        return {**described, "error": f"is larger than {MAX_IMAGE_BYTES:,} bytes"}
    described["content"] = hashlib.sha256(data).digest()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS:
                    return {**described, "error": f"has {width * height:,} pixels, more than {MAX_IMAGE_PIXELS:,}"}
                described.update(
                    format=image.format,
                    mode=image.mode,
                    channels=len(image.getbands()),
                    width=width,
                    height=height,
                    aspect_ratio=round(width / height, 6) if height else None,
                    frames=getattr(image, "n_frames", 1),
                )
                # A JPEG is decoded at a reduced scale (every byte of it still read, so a truncated
                # file still fails); the perceptual hash looks at 32x32 pixels.
                image.draft("RGB", (THUMBNAIL_SIDE, THUMBNAIL_SIDE))
                image.load()
                import imagehash

                described["near"] = int(str(imagehash.phash(image)), 16)
                if thumbnail:
                    # A picture that decodes is not corrupt for want of a thumbnail.
                    with contextlib.suppress(OSError, ValueError):
                        described["thumbnail"] = _thumbnail(image)
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError, Warning) as exc:
        # UnidentifiedImageError is an OSError: not an image Pillow knows, or a truncated/corrupt one.
        reason = "is not an image Pillow can read" if isinstance(exc, UnidentifiedImageError) else f"is corrupt: {exc}"
        for name in ("format", "mode", "channels", "width", "height", "aspect_ratio", "frames", "near"):
            described.pop(name, None)
        return {**described, "error": reason}
    return described


def _thumbnail(image: Image.Image) -> tuple[bytes, int, int]:
    """A small JPEG re-encoded from the decoded pixels: never the original bytes."""
    small = ImageOps.exif_transpose(image)  # a copy, turned upright
    small.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    if small.mode not in ("RGB", "L"):
        small = small.convert("RGBA").convert("RGB")  # through RGBA, so palettes with transparency convert
    buffer = io.BytesIO()
    small.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue(), small.width, small.height
