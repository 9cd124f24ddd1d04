"""Every example of the README, run as written against the service as the image runs it (gunicorn, real
workers and beat over the broker), in the README's order: its commands must succeed and its answers
must be what the service answers. The conventions are in tests/readme.py."""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from tests import readme
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.processes import manage

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Each curl's body and HTTP status are kept, so that an answer can be compared and an error seen.
PRELUDE = r"""set -euo pipefail
curl() {
  local call
  call=$(( $(cat "$README_CALLS/count") + 1 ))
  echo "$call" > "$README_CALLS/count"
  command curl --silent --show-error --output "$README_CALLS/$call.body" --write-out '%{http_code}' "$@" \
    > "$README_CALLS/$call.status"
  cat "$README_CALLS/$call.body"
}
[ -f "$README_STATE" ] && source "$README_STATE"
"""
EPILOGUE = '\nexport -p > "$README_STATE"\n'
# How long a reading command is repeated until its answer is the one shown (a version profiled).
WAIT_FOR_WORKERS = 90


class Reader:
    """Someone following the README in a folder of their own: `data/` is the service's storage root."""

    def __init__(self, workdir: Path, env: dict[str, str], url: str) -> None:
        self.workdir = workdir
        self.calls = workdir / ".calls"
        self.calls.mkdir()
        (self.calls / "count").write_text("0")
        self.env = {
            **env,
            "README_CALLS": str(self.calls),
            "README_STATE": str(workdir / ".state"),
            "PYTHONPATH": str(settings.BASE_DIR),
        }
        self.host = url.removeprefix("http://")
        self.bindings = readme.Bindings()
        # What ran and what it printed, for whoever reads a failure.
        self.log = ARTIFACTS / "readme-run.log"
        self.log.parent.mkdir(exist_ok=True)
        self.log.write_text("")
        self.failures: list[str] = []

    def as_written_here(self, script: str) -> str:
        script = self.bindings.substitute(readme.commands_only(script))
        script = script.replace("localhost:8000", self.host).replace("127.0.0.1:8000", self.host)
        return script.replace(".venv/bin/", f"{Path(sys.executable).parent}/")

    def call_count(self) -> int:
        return int((self.calls / "count").read_text())

    def call(self, number: int) -> tuple[int, str]:
        status = (self.calls / f"{number}.status").read_text().strip()
        return int(status or 0), (self.calls / f"{number}.body").read_text()

    def run(self, language: str, script: str) -> str:
        if language == "python":
            program = self.workdir / ".block.py"
            program.write_text(script)
            script = f'"{sys.executable}" "{program}"\n'
        with self.log.open("a") as log:
            log.write(f"$ {script}\n")
        result = subprocess.run(
            ["bash", "-c", PRELUDE + script + EPILOGUE],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        with self.log.open("a") as log:
            log.write(f"{result.stdout}{result.stderr}\n")
        if result.returncode != 0:
            raise AssertionError(
                f"exited with {result.returncode}:\n{script}\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
            )
        return result.stdout

    def compare(self, shown: str, language: str, actual: str) -> None:
        if language == "text":
            self.bindings.values |= readme.match_text(shown, actual, self.bindings.values)
            return
        try:
            answer = json.loads(actual)
        except ValueError:
            raise readme.Mismatch(f"the service answered no JSON: {actual[:500]!r}") from None
        self.bindings.values |= readme.match(readme.lenient_json(shown), answer, self.bindings.values)

    def follow(self, block: readme.Block) -> None:
        pieces = readme.segments(block)
        for index, segment in enumerate(pieces):
            last = index == len(pieces) - 1
            shown, language = segment.shown, "json"
            if last and block.answer is not None:
                if shown is not None:
                    raise AssertionError(f"README.md:{segment.line}: two answers shown for one command")
                shown, language = block.answer.text, block.answer.language
            self.follow_segment(block.language, segment.script, shown, language, segment.line)

    def follow_segment(self, language: str, script: str, shown: str | None, shown_as: str, line: int) -> None:
        """Run a piece of a block and compare the answer shown with the service's. A piece that only
        reads is read again until it matches, as a reader waits for the worker (`pending` to `ready`)."""
        reads_only = language == "sh" and not re.search(r"\s(-X|-d|--data\S*)\s", script)
        deadline = time.monotonic() + (WAIT_FOR_WORKERS if reads_only else 0)
        while True:
            before = self.call_count()
            output = self.run(language, self.as_written_here(script))
            calls = range(before + 1, self.call_count() + 1)
            shown_call = calls[-1] if calls and shown is not None else None
            try:
                if shown is not None:
                    self.compare(shown, shown_as, self.call(shown_call)[1] if shown_call else output)
                self.refuse_errors(calls, shown_call, shown)
                return
            except readme.Mismatch as mismatch:
                if time.monotonic() > deadline:
                    answered = self.call(shown_call)[1] if shown_call else output
                    raise AssertionError(
                        f"README.md:{line}: {mismatch}\nThe service answered:\n{answered[:4000]}"
                    ) from None
                time.sleep(1)

    def refuse_errors(self, calls: range, shown_call: int | None, shown: str | None) -> None:
        """A call answering an error is an example that does not work, unless its answer shows that
        error (a problem document with that status)."""
        for number in calls:
            status, body = self.call(number)
            if status < 400:
                continue
            if number == shown_call and shown is not None:
                expected = readme.lenient_json(shown) if shown.lstrip().startswith(("{", "[")) else None
                if isinstance(expected, dict) and expected.get("status") == status:
                    continue
            raise AssertionError(f"curl #{number} answered {status}: {body[:1000]}")


@pytest.fixture
def reader(gunicorn_catalog, e2e_env, e2e_storage_root, tmp_path) -> Reader:
    """What `make run` does before it serves: the demo data. The server is the session's gunicorn."""
    env = {**e2e_env, "DEBUG": "1"}
    manage(env, "load_demo")
    manage(env, "load_lineage_demo")
    workdir = tmp_path / "reader"
    workdir.mkdir()
    (workdir / "data").symlink_to(e2e_storage_root)
    (workdir / "manage.py").symlink_to(Path(settings.BASE_DIR) / "manage.py")
    return Reader(workdir, {key: value for key, value in e2e_env.items() if key != "DEBUG"}, gunicorn_catalog.url)


def test_every_example_of_the_readme_works_as_written(reader):
    found = readme.blocks()
    assert readme.problems(found) == []

    for block in found:
        if block.language not in readme.RUNNABLE or block.skip is not None:
            continue
        try:
            reader.follow(block)
        except (AssertionError, LookupError) as failure:
            reader.failures.append(f"{block.where}: {failure}")
            break  # later examples build on this one

    assert reader.failures == [], "\n\n".join(reader.failures)
    assert os.path.exists(reader.workdir / ".state")
