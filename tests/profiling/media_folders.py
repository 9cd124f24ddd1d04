"""Folders of images and documents that tests build themselves, drawn with Pillow."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

from PIL import Image, ImageDraw


def draw(path: Path, seed: int, size: tuple[int, int] = (48, 40), format: str | None = None) -> Path:
    """A picture of a few coloured rectangles on a coloured ground, different for every seed."""
    rng = random.Random(seed)
    image = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    canvas = ImageDraw.Draw(image)
    for _ in range(8):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        box = [x, y, x + rng.randrange(4, size[0] // 2 + 5), y + rng.randrange(4, size[1] // 2 + 5)]
        canvas.rectangle(box, fill=tuple(rng.randrange(256) for _ in range(3)))
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format=format)
    return path


def image_folder(root: Path) -> Path:
    """train/ and test/ above class folders: cat has 6 and dog 3 drawn images in each split, plus
    a truncated PNG (train/cat/broken.png), an exact copy of a cat filed under dog
    (train/dog/copy-of-cat.png), a training image copied into the test split (test/dog/leaked.png),
    a resized JPEG of a cat (train/cat/001-large.jpg, a near-duplicate) and a README."""
    seed = 0
    for split in ("train", "test"):
        for label, count in (("cat", 6), ("dog", 3)):
            for index in range(count):
                seed += 1
                draw(root / split / label / f"{index:03d}.png", seed)
    shutil.copy(root / "train/cat/000.png", root / "train/dog/copy-of-cat.png")
    shutil.copy(root / "train/dog/001.png", root / "test/dog/leaked.png")
    Image.open(root / "train/cat/001.png").resize((96, 80)).save(root / "train/cat/001-large.jpg", quality=92)
    (root / "train/cat/broken.png").write_bytes((root / "train/cat/002.png").read_bytes()[:120])
    (root / "README.md").write_text("Cats and dogs, drawn.\n")
    return root


WORDS = [
    "the",
    "a",
    "model",
    "data",
    "training",
    "set",
    "label",
    "image",
    "cat",
    "dog",
    "runs",
    "quickly",
    "over",
    "lazy",
    "fox",
    "river",
    "mountain",
    "city",
    "green",
    "small",
    "large",
    "window",
    "garden",
    "morning",
    "evening",
    "letter",
    "story",
    "music",
    "bread",
    "table",
]


def document(seed: int, words: int | None = None) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(words or rng.randrange(30, 120)))


def text_corpus(root: Path) -> Path:
    """pos/ and neg/ folders of .txt documents: 10 each, plus an exact copy (whitespace aside)
    of a neg document under pos, a near copy of another, an empty document, one with an e-mail
    address and one in French."""
    for index in range(20):
        folder = root / ("pos" if index % 2 else "neg")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{index:03d}.txt").write_text(document(index))
    (root / "pos/copy.txt").write_text("  " + document(0).replace(" ", "  ", 3) + "\n")
    (root / "neg/near.txt").write_text(document(2) + " and one more")
    (root / "neg/empty.txt").write_text("")
    (root / "pos/contact.txt").write_text("For the full data set write to jane.roe@example.org and we will reply.")
    (root / "neg/french.txt").write_text(
        "Le chat dort sur le canapé pendant que le chien regarde par la fenêtre du salon."
    )
    return root
