"""The lock files pin what pyproject.toml asks for: a dependency added or tightened there without
`make lock` fails here, not on a fresh machine. The image's lock is the CI lock's runtime part. The
MLflow tracking server the tests start has a lock of its own (requirements/mlflow-server.in)."""

import re
import tomllib
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)(?:\s*;\s*([^\\]+?))?\s*\\?$", re.MULTILINE)


def pins(name: str) -> dict[str, Version]:
    """The versions a lock file installs here (its entries whose markers hold on this interpreter)."""
    found = {}
    for package, version, marker in PIN.findall((ROOT / "requirements" / name).read_text()):
        if not marker or Marker(marker).evaluate():
            found[canonicalize_name(package)] = Version(version)
    return found


def requirements(*groups: list[str]) -> list[Requirement]:
    return [Requirement(line) for group in groups for line in group]


def requirements_in(name: str) -> list[str]:
    """The requirement lines of an input file of requirements/, comments left out."""
    lines = (line.split("#", 1)[0].strip() for line in (ROOT / "requirements" / name).read_text().splitlines())
    return [line for line in lines if line]


@pytest.mark.parametrize(
    ("lock", "wanted"),
    [
        ("lock.txt", requirements(PYPROJECT["project"]["dependencies"])),
        (
            "dev-lock.txt",
            requirements(
                PYPROJECT["project"]["dependencies"],
                PYPROJECT["project"]["optional-dependencies"]["dev"],
                PYPROJECT["build-system"]["requires"],
            ),
        ),
        ("mlflow-server-lock.txt", requirements(requirements_in("mlflow-server.in"))),
    ],
)
def test_it_pins_every_requirement_of_pyproject_within_its_bounds(lock, wanted):
    locked = pins(lock)
    missing = [str(req) for req in wanted if canonicalize_name(req.name) not in locked]
    outside = [
        f"{req}: locked {locked[canonicalize_name(req.name)]}"
        for req in wanted
        if canonicalize_name(req.name) in locked and locked[canonicalize_name(req.name)] not in req.specifier
    ]

    assert missing == [], f"not in requirements/{lock}; run `make lock`"
    assert outside == [], f"requirements/{lock} is outside pyproject.toml's bounds; run `make lock`"


def test_the_image_installs_the_versions_ci_tests():
    runtime, dev = pins("lock.txt"), pins("dev-lock.txt")

    assert {name: version for name, version in runtime.items() if dev.get(name) != version} == {}


def test_the_tracking_server_holds_no_version_of_the_service_back():
    """The full mlflow package (the server) caps pyarrow and gunicorn below the service's versions: it
    lives in its own venv, and the service has only the client."""
    assert "mlflow" not in pins("dev-lock.txt")
    assert "mlflow" not in pins("lock.txt")


def test_the_tracking_server_is_of_the_clients_release():
    """The tests log their runs with the service's client (mlflow-skinny) to a server of the same
    release: after an upgrade of the client, requirements/mlflow-server.in follows."""
    assert pins("mlflow-server-lock.txt")["mlflow"] == pins("dev-lock.txt")["mlflow-skinny"]


@pytest.mark.parametrize("lock", ["dev-lock.txt", "mlflow-server-lock.txt"])
def test_nothing_pulls_a_deep_learning_framework(lock):
    """The catalog reads data; a dependency that drags in PyTorch (and CUDA, gigabytes) is a mistake."""
    heavy = re.compile(r"^(torch|torchvision|tensorflow|jax|jaxlib|triton|nvidia-.*)$")

    assert [name for name in pins(lock) if heavy.match(name)] == []
