"""The README's examples as data: its fenced blocks, which of them run, and the answers they show.

Conventions the README follows (README.md, "Development"):

- A `sh` or `python` block runs, in the order of the README, against a live service. Commands may
  name `localhost:8000`, `.venv/bin/` and paths under `data/` (a storage root) as a reader would.
- A `json` or `text` block right after a runnable block is what it answers: the body of its last
  `curl`, or else what the block printed. In a `sh` block, comment lines that start with `# {` or
  `# [` (and the comment lines after them that start with `#  `) are the answer of the `curl` before
  them.
- In an answer, `...` stands for anything: a whole value, the rest of an object (`"...": "..."` or
  a bare `...`), more items of a list, or part of a string. A short token ending in `...` (`3f0c...`)
  or a `<name in angle brackets>` stands for a value the service chooses: the first answer that shows
  it binds it, and later commands use the value it was bound to. A number shown with fewer decimals
  is the service's rounded to them. Objects may hold more keys than shown.
- `<!-- readme-test: skip REASON -->` on the line before a block keeps it from running, for the
  few that cannot run in a test (they start a server, or need Docker); anything else is an error.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
RUNNABLE = {"sh", "python"}
ANSWERS = {"json", "text"}
MARKER = re.compile(r"^<!--\s*readme-test:\s*(?P<directive>\w+)\s*(?P<reason>.*?)\s*-->$")
ELLIPSIS = "..."
# A value the service chooses: `3f0c...`, `Jx3k...` (four or more letters or digits), `<a name>`.
PLACEHOLDER = re.compile(r"^(?:[0-9A-Za-z]{4,}\.\.\.|<[^<>\s][^<>]*>)$")
PLACEHOLDER_IN_TEXT = re.compile(r"(?<![\w-])(?:[0-9A-Za-z]{4,}\.\.\.|<[a-z][^<>]*>)")


@dataclass
class Block:
    language: str
    text: str
    line: int  # of the opening fence, 1-based
    skip: str | None = None  # the reason, when marked
    marker_error: str | None = None
    answer: Block | None = None  # the block that shows what this one answers
    answers: Block | None = None  # the runnable block this one is the answer of

    @property
    def where(self) -> str:
        return f"README.md:{self.line} ({self.language or 'no language'})"


def blocks(text: str | None = None) -> list[Block]:
    """Every fenced block, with its marker and the answer block that follows it."""
    lines = (README.read_text() if text is None else text).splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        opening = re.match(r"^```\s*([\w-]*)\s*$", lines[index])
        if not opening:
            index += 1
            continue
        start = index
        index += 1
        while index < len(lines) and lines[index].strip() != "```":
            index += 1
        block = Block(language=opening.group(1), text="\n".join(lines[start + 1 : index]) + "\n", line=start + 1)
        before = lines[start - 1].strip() if start else ""
        if before.startswith("<!--"):
            marker = MARKER.match(before)
            if marker is None or marker.group("directive") != "skip" or not marker.group("reason"):
                block.marker_error = f"{block.where}: the marker must read <!-- readme-test: skip REASON -->"
            else:
                block.skip = marker.group("reason")
        if found and block.language in ANSWERS and block.skip is None:
            previous = found[-1]
            if previous.language in RUNNABLE and previous.skip is None and previous.answer is None:
                previous.answer, block.answers = block, previous
        found.append(block)
        index += 1
    return found


def problems(found: list[Block]) -> list[str]:
    """Blocks that would neither run nor be compared, and markers that do not parse."""
    wrong = [block.marker_error for block in found if block.marker_error]
    for block in found:
        if block.skip is not None or block.marker_error:
            continue
        if block.language in RUNNABLE or (block.language in ANSWERS and block.answers is not None):
            continue
        wrong.append(
            f"{block.where} neither runs nor shows what the block before it answers: make it a runnable "
            "`sh` or `python` block, put it right after the command it answers, or mark it "
            "<!-- readme-test: skip REASON --> if it cannot run in a test"
        )
    return wrong


# --- Answers shown in a block --------------------------------------------------------------------------


@dataclass
class Segment:
    """A piece of a block that runs at once: up to an answer written as comments, or to the end."""

    script: str
    shown: str | None  # the answer of its last curl, as the comments show it
    line: int  # where the answer is shown, else where the piece starts


def segments(block: Block) -> list[Segment]:
    """A sh block cut after each answer written as comments (`# {...}`), so that a later command may
    use what that answer binds. A python block is one piece."""
    if block.language != "sh":
        return [Segment(block.text, None, block.line + 1)]
    pieces: list[Segment] = []
    script: list[str] = []
    shown: list[str] = []
    start = block.line + 1
    for number, line in enumerate(block.text.splitlines(keepends=True), start=block.line + 1):
        stripped = line.strip()
        if stripped.startswith(("# {", "# [")) or (shown and stripped.startswith("#  ")):
            if not shown:
                start = number
            shown.append(stripped[1:].strip() if not shown else stripped[1:])
            continue
        if shown:
            pieces.append(Segment("".join(script), "\n".join(shown), start))
            script, shown, start = [], [], number
        script.append(line)
    if shown:
        pieces.append(Segment("".join(script), "\n".join(shown), start))
    elif any(line.strip() and not line.strip().startswith("#") for line in script):
        pieces.append(Segment("".join(script), None, start))
    return pieces


def commands_only(script: str) -> str:
    """The script without its comment lines, which may name placeholders no answer has bound yet."""
    return "".join(line for line in script.splitlines(keepends=True) if not line.lstrip().startswith("#"))


def lenient_json(text: str) -> object:
    """Parse an answer as the README writes it: JSON in which a bare `...` stands for what is left out."""
    out: list[str] = []
    stack: list[str] = []
    in_string = escaped = False
    index = 0
    while index < len(text):
        char = text[index]
        if in_string:
            out.append(char)
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            index += 1
            continue
        if text.startswith(ELLIPSIS, index):
            previous = "".join(out).rstrip()[-1:]
            in_object = bool(stack) and stack[-1] == "{" and previous in ("{", ",")
            out.append('"...": "..."' if in_object else '"..."')
            index += len(ELLIPSIS)
            continue
        if char == '"':
            in_string = True
        elif char in "{[":
            stack.append(char)
        elif char in "}]" and stack:
            stack.pop()
        out.append(char)
        index += 1
    return json.loads("".join(out))


# --- Comparing an answer with what the service said ----------------------------------------------------


@dataclass
class Bindings:
    values: dict[str, str] = field(default_factory=dict)

    def substitute(self, script: str) -> str:
        """The script with every bound placeholder replaced by its value; an unbound one is an error."""

        def value(match: re.Match[str]) -> str:
            token = match.group(0)
            if token not in self.values:
                raise LookupError(f"{token} is used before an answer shows what it stands for")
            return self.values[token]

        return PLACEHOLDER_IN_TEXT.sub(value, script)


class Mismatch(AssertionError):
    pass


def _decimals(number: float) -> int:
    text = repr(number)
    return len(text.split(".")[1]) if "." in text and "e" not in text else 15


def _glob(expected: str, bound: dict[str, str]) -> re.Pattern[str]:
    pattern = ""
    for piece in re.split(r"(\.\.\.|<[^<>]+>)", expected):
        if piece == ELLIPSIS:
            pattern += ".*?"
        elif piece.startswith("<") and piece.endswith(">") and piece in bound:
            pattern += re.escape(bound[piece])
        elif piece.startswith("<") and piece.endswith(">") and PLACEHOLDER.match(piece):
            pattern += rf"(?P<p{pattern.count('(?P<p')}>\S+)"
        else:
            pattern += re.escape(piece)
    return re.compile(pattern + r"\Z", re.DOTALL)


def _placeholders_of(expected: str) -> list[str]:
    return [piece for piece in re.findall(r"<[^<>]+>", expected) if PLACEHOLDER.match(piece)]


def match(expected: object, actual: object, bound: dict[str, str], path: str = "$") -> dict[str, str]:
    """Compare an answer shown with the service's; answer the placeholders it binds. Raises Mismatch."""
    if isinstance(expected, str):
        if expected == ELLIPSIS:
            return {}
        if PLACEHOLDER.match(expected):
            text = actual if isinstance(actual, str) else json.dumps(actual)
            if expected in bound:
                if bound[expected] != text:
                    raise Mismatch(f"{path}: {expected} was {bound[expected]!r}, here {text!r}")
                return {}
            return {expected: text}
        if ELLIPSIS in expected or _placeholders_of(expected):
            if not isinstance(actual, str):
                raise Mismatch(f"{path}: shown a text like {expected!r}, the service answered {actual!r}")
            found = _glob(expected, bound).match(actual)
            if found is None:
                raise Mismatch(f"{path}: {actual!r} is not like {expected!r}")
            names = [name for name in _placeholders_of(expected) if name not in bound]
            return {name: value for name, value in zip(names, found.groups(), strict=False) if value is not None}
        if actual != expected:
            raise Mismatch(f"{path}: shown {expected!r}, the service answered {actual!r}")
        return {}
    if isinstance(expected, bool) or expected is None:
        if actual is not expected:
            raise Mismatch(f"{path}: shown {expected!r}, the service answered {actual!r}")
        return {}
    if isinstance(expected, int | float):
        if isinstance(actual, bool) or not isinstance(actual, int | float):
            raise Mismatch(f"{path}: shown {expected!r}, the service answered {actual!r}")
        if isinstance(expected, float) and round(actual, _decimals(expected)) == expected:
            return {}
        if actual != expected:
            raise Mismatch(f"{path}: shown {expected!r}, the service answered {actual!r}")
        return {}
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            raise Mismatch(f"{path}: shown an object, the service answered {actual!r}")
        binds: dict[str, str] = {}
        for key, value in expected.items():
            if key == ELLIPSIS:
                continue
            if key not in actual:
                raise Mismatch(f"{path}: the service's answer has no {key!r} (it has {sorted(actual)})")
            binds |= match(value, actual[key], {**bound, **binds}, f"{path}.{key}")
        return binds
    if isinstance(expected, list):
        if not isinstance(actual, list):
            raise Mismatch(f"{path}: shown a list, the service answered {actual!r}")
        items = [item for item in expected if item != ELLIPSIS]
        if len(items) == len(expected):
            if len(actual) != len(expected):
                raise Mismatch(f"{path}: shown {len(expected)} items, the service answered {len(actual)}")
            binds = {}
            for index, (item, value) in enumerate(zip(expected, actual, strict=True)):
                binds |= match(item, value, {**bound, **binds}, f"{path}[{index}]")
            return binds
        # Items in order, others between and around them.
        binds, start = {}, 0
        for item in items:
            for index in range(start, len(actual)):
                try:
                    binds |= match(item, actual[index], {**bound, **binds}, f"{path}[{index}]")
                except Mismatch:
                    continue
                start = index + 1
                break
            else:
                raise Mismatch(f"{path}: no item of the service's answer is like {json.dumps(item)[:300]}")
        return binds
    raise TypeError(f"cannot compare {expected!r}")


def match_text(expected: str, actual: str, bound: dict[str, str]) -> dict[str, str]:
    """Compare printed text: each line shown is like a line printed, in order (others may come between)."""
    printed = actual.splitlines()
    binds: dict[str, str] = {}
    start = 0
    for line in expected.splitlines():
        for index in range(start, len(printed)):
            try:
                binds |= match(line, printed[index], {**bound, **binds})
            except Mismatch:
                continue
            start = index + 1
            break
        else:
            raise Mismatch(f"no line printed is like {line!r}:\n{actual[-2000:]}")
    return binds
