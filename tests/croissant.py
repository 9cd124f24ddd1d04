"""Croissant documents checked by mlcroissant's own command, as a publisher would check them."""

import subprocess
import sys
from pathlib import Path


def mlcroissant_validate(path: Path) -> subprocess.CompletedProcess:
    """`mlcroissant validate --jsonld PATH`, from the same environment as the tests."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "mlcroissant"), "validate", "--jsonld", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
