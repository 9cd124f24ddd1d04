"""Request input read within bounds: JSON no deeper than a limit, and no text the database cannot store.

PostgreSQL refuses NUL (U+0000) in text and jsonb, and a lone surrogate (U+D800 to U+DFFF, half of a UTF-16
pair) cannot be encoded as UTF-8 at all: either one sent in a body, a query parameter or a path would reach
the database driver and fail there as a 500. They are refused here, once, with a message naming where they
were found. Nesting is bounded for the same reason: the JSON decoder, the serializers, the schema validators
and the JSON encoder all recurse, and a body nested a thousand levels deep is a few kilobytes.
"""

import codecs
import json
import math
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any, overload

import msgspec
from django.conf import settings
from django.core.exceptions import TooManyFieldsSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.utils.json import strict_constant

# Containers (objects and arrays) nested deeper than this are refused: the OpenLineage validator's own
# limit (events hold schema facets of nested structs), and far above anything else the API takes.
MAX_JSON_DEPTH = 100

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable_text(value: str) -> str | None:
    """What in this text cannot be stored, said for a person; None when it can be."""
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "a NUL character (U+0000), which text may not contain"
    return f"a lone surrogate (U+{ord(found.group()):04X}), half of a UTF-16 pair and not a character"


class _Place:
    """Where a value sits in a document, kept as a link to its parent so a path is built only when needed."""

    __slots__ = ("key", "parent")

    def __init__(self, parent: "_Place | None", key: str | int) -> None:
        self.parent = parent
        self.key = key

    def path(self) -> str:
        keys: list[str] = []
        place: _Place | None = self
        while place is not None:
            keys.append(place.key if isinstance(place.key, str) else str(place.key))
            place = place.parent
        # Keys are shown as sent, but a key that is itself unstorable is shown escaped.
        return ".".join(ascii(key)[1:-1] if unstorable_text(key) else key for key in reversed(keys))


def check_document(
    data: Any,
    *,
    max_depth: int = MAX_JSON_DEPTH,
    text: str | bytes | None = None,
    finite: bool = False,
    at: int | None = None,
) -> None:
    """Refuse a parsed JSON document nested deeper than `max_depth` (ParseError) or holding unstorable text in
    any key or string (ValidationError, under the value's path). Iterative, so a deep document cannot exhaust
    the stack here.

    A number too large for a double (`1e400`) is refused too (ValidationError): Python reads it as
    infinity, which neither JSON nor PostgreSQL can hold.

    Given the JSON `text` it was parsed from, and `finite` (the decoder read every number as a double
    that fits), a first look at the text settles nearly every document: one with no escape that could
    stand for NUL or a lone surrogate, and nested no deeper than the limit, holds nothing to refuse.
    Otherwise the document is walked, to find the first offence and its path: under `at`, for a document
    that is the item of an array at that index."""
    if text is not None and finite and _text_fine(text, max_depth):
        return
    pending: list[tuple[Any, int, _Place | None]] = [(data, 1, _Place(None, at) if at is not None else None)]
    while pending:
        node, depth, place = pending.pop()
        if isinstance(node, str):
            if problem_found := unstorable_text(node):
                raise _unstorable(place, f"This text has {problem_found}.")
            continue
        if isinstance(node, float):
            if not math.isfinite(node):
                raise _unstorable(place, "This number is too large: it must fit a double (at most about 1.8e308).")
            continue
        if not isinstance(node, dict | list):
            continue
        if depth > max_depth:
            raise exceptions.ParseError(
                f"The body nests objects and arrays more than {max_depth} levels deep; flatten it."
            )
        # Integers, booleans and nulls have nothing to check: not queued, as a body of many is cheap to send.
        if isinstance(node, dict):
            for key, value in node.items():
                if problem_found := unstorable_text(key):
                    raise _unstorable(_Place(place, key), f"This key has {problem_found}.")
                if isinstance(value, str | dict | list | float):
                    pending.append((value, depth + 1, _Place(place, key)))
        else:
            pending.extend(
                (value, depth + 1, _Place(place, index))
                for index, value in enumerate(node)
                if isinstance(value, str | dict | list | float)
            )


# In JSON text, NUL and lone surrogates can only come as escapes (the decoder refuses raw control characters,
# and decoding refuses invalid UTF-8): `\u0000` and `\uD800` to `\uDFFF`. A pair of surrogate escapes (an
# emoji) matches too, and is then found fine by the walk.
_UNSTORABLE_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
# Of a JSON text, what tells its nesting: quotes and brackets, every bracket made square.
_STRUCTURE = bytes.maketrans(b"{}", b"[]")
_NOT_STRUCTURE = bytes(byte for byte in range(256) if byte not in b'"[]{}')


def _text_fine(text: str | bytes, max_depth: int) -> bool:
    """Whether a JSON text the decoder accepted holds no escape of unstorable text and nests at most
    `max_depth` deep, told from the text alone by byte operations: walking the parsed document took
    150 ms for a batch of a thousand events.

    Escapes are dropped (every backslash escapes the one character after it, so pairs read left to right
    are exact), then every byte but quotes and brackets, then the strings, now quotes around brackets or
    nothing. What is left are the containers, well nested since the decoder accepted the text: each pass
    removes the innermost (`[]`, one level), so the passes until nothing is left are its depth."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if _UNSTORABLE_ESCAPE.search(data):
        return False
    if b"\\" in data:
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    marks = data.translate(_STRUCTURE, _NOT_STRUCTURE)
    # Most strings hold no bracket: `""` each. Removed pairwise from the left, they leave no quote only
    # when every string was such a pair (the first quote can pair only with the second, and so on).
    containers = marks.replace(b'""', b"")
    if b'"' in containers:
        containers = b"".join(marks.split(b'"')[::2])
    for _ in range(max_depth):
        if not containers:
            return True
        containers = containers.replace(b"[]", b"")
    return not containers


def _unstorable(place: _Place | None, message: str) -> exceptions.ValidationError:
    # Said as a field error, like any other invalid value, under the path of the value in the body.
    return exceptions.ValidationError({place.path() if place is not None else "body": [message]})


# msgspec reads JSON in half the time the standard library's decoder takes (an 8.9 KB OpenLineage event:
# 36 against 66 us, and more inside a request). It accepts nothing that decoder refuses, and reads what both
# accept to the same values; it refuses more: a number beyond a double, a lone surrogate escape, NaN or
# Infinity, which the standard decoder reads again to answer as it always has.
_DECODER = msgspec.json.Decoder()


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser (strict: no NaN or Infinity), with a depth limit and unstorable text refused."""

    def parse(self, stream, media_type=None, parser_context=None):
        return self.body_parse(stream.read(), (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET))

    def body_parse(self, body: bytes, encoding: str) -> Any:
        if _is_utf8(encoding):
            try:
                data = _DECODER.decode(body)
            except (msgspec.DecodeError, RecursionError):
                pass  # read again below, for the standard decoder's answer
            else:
                # msgspec refuses a number a double cannot hold: every one it read is finite.
                check_document(data, text=body, finite=True)
                return data
        return _read_again(body, encoding, strict=self.strict)

    def array_parse(self, body: bytes, encoding: str, prepare: Callable[[Any], Any] | None = None) -> Any:
        """A body meant to be a JSON array, as `Documents` when its text says it can be: UTF-8, nested
        within the limit, with no escape of unstorable text; otherwise (or not an array) as `body_parse`
        reads it. `prepare` is applied to each document as it is read."""
        if _is_utf8(encoding) and _text_fine(body, MAX_JSON_DEPTH):
            try:
                texts = _ARRAY_DECODER.decode(body)
            except msgspec.DecodeError:  # not an array either (msgspec's ValidationError is a DecodeError)
                pass
            else:
                return Documents(texts, strict=self.strict, prepare=prepare)
        data = self.body_parse(body, encoding)
        if prepare is not None and isinstance(data, list):
            data = [prepare(document) for document in data]
        return data


# An array's items as their texts, checked to be JSON but not read: what `Documents` holds.
_ARRAY_DECODER = msgspec.json.Decoder(list[msgspec.Raw])


class Documents(Sequence[Any]):
    """The documents of a JSON array, each read from its own text when it is asked for, and not kept.

    Read whole, a batch of a thousand OpenLineage events held 50 MB of objects: parsing and freeing them
    took about 100 ms, the garbage collector walking them all the while. Read one at a time, a document
    can go once it has been used, and the body's text is all that stays.

    The array's text was found nested within the limit and free of escapes of unstorable text; what
    msgspec still refuses in a document (a number beyond a double, invalid UTF-8) is read again as
    `body_parse` would, and refused under the document's index, as the whole body would have been."""

    def __init__(
        self, texts: list[msgspec.Raw], *, strict: bool = True, prepare: Callable[[Any], Any] | None = None
    ) -> None:
        self._texts = texts
        self._strict = strict
        self._prepare = prepare

    def __len__(self) -> int:
        return len(self._texts)

    @overload
    def __getitem__(self, index: int) -> Any: ...

    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self[position] for position in range(len(self))[index]]
        position = range(len(self))[index]  # IndexError beyond the end, as a list
        try:
            document = _DECODER.decode(self._texts[position])
        except msgspec.DecodeError:
            document = _read_again(bytes(self._texts[position]), "utf-8", strict=self._strict, at=position)
        return self._prepare(document) if self._prepare is not None else document

    def __iter__(self) -> Iterator[Any]:
        for position in range(len(self)):
            yield self[position]


def _read_again(body: bytes, encoding: str, *, strict: bool, at: int | None = None) -> Any:
    """DRF's JSONParser.parse, keeping the text for check_document's first look: the standard decoder's
    answer for what msgspec refused. `at`: the body is the item of an array at that index."""
    try:
        text = body.decode(encoding)
        numbers = _Numbers()
        data = json.loads(text, parse_constant=strict_constant if strict else None, parse_float=numbers.read)
    except RecursionError:
        # The decoder itself gives up about a thousand levels down; the limit below is far shallower.
        raise exceptions.ParseError(
            f"The body nests objects and arrays more than {MAX_JSON_DEPTH} levels deep; flatten it."
        ) from None
    except (ValueError, LookupError) as exc:  # UnicodeDecodeError and JSONDecodeError among them
        raise exceptions.ParseError(f"JSON parse error - {exc}") from None
    # An array's item sits one level down in the body.
    depth = MAX_JSON_DEPTH if at is None else MAX_JSON_DEPTH - 1
    check_document(data, text=text, finite=numbers.finite, at=at, max_depth=depth)
    return data


def _is_utf8(encoding: str) -> bool:
    try:
        return codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        return False


def parsed_body_release(request: Request) -> None:
    """Let a request's parsed body go as soon as the view is done with it.

    DRF's Request refers to itself (through its parser context) and the view to both, so every request is
    a reference cycle, freed only by the garbage collector, and with it the body it parsed: an
    OpenLineage event is some 140 dicts and lists, a batch a thousand times that. Each waited for a
    collection that walked it; released here, it goes with its last reference. Measured on one event per
    request: the collector's time per request fell from 171-227 to 57-79 us."""
    # Where DRF keeps the parsed body (Request._load_data_and_files).
    request._full_data = request._data = {}  # type: ignore[attr-defined]


class _Numbers:
    """The decoder's reader of numbers with a fraction or an exponent, noting whether one overflowed (to
    infinity) so that the body is walked for it. Only such numbers pass here: integers and text do not."""

    __slots__ = ("finite",)

    def __init__(self) -> None:
        self.finite = True

    def read(self, text: str) -> float:
        value = float(text)
        if self.finite and not math.isfinite(value):
            self.finite = False
        return value


class UnstorableTextMiddleware:
    """Refuse a request whose path or query string holds text the database cannot store (400).

    Django decodes both before any view sees them: `%00` becomes NUL, which a lookup or a filter would send
    to PostgreSQL. (Invalid UTF-8 in either is kept percent-encoded or replaced by Django, so a lone
    surrogate cannot arrive this way; it is checked all the same.) A query string of more parameters than
    Django parses (DATA_UPLOAD_MAX_NUMBER_FIELDS) is refused here too, in the same shape.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        found = unstorable_text(request.path_info)
        where = "path"
        try:
            parameters = request.GET.lists()
        except TooManyFieldsSent:
            # Django's own answer is a bare HTML page (with DEBUG on, its debug page).
            return self._refused(
                request, f"The query string has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} parameters."
            )
        if found is None:
            for name, values in parameters:
                found = unstorable_text(name) or next(filter(None, map(unstorable_text, values)), None)
                if found is not None:
                    where = f"query parameter {ascii(name)[1:-1]!r}"
                    break
        if found is None:
            return self.get_response(request)
        return self._refused(request, f"The {where} has {found}.")

    def _refused(self, request: HttpRequest, detail: str) -> HttpResponse:
        # Imported here: the problem module imports DRF's views, whose settings import this module.
        from config.api.exceptions import PROBLEM_CONTENT_TYPE, problem

        if request.path.startswith("/api/"):
            return JsonResponse(problem(400, detail, "parse_error"), status=400, content_type=PROBLEM_CONTENT_TYPE)
        return HttpResponse(detail, status=400, content_type="text/plain; charset=utf-8")
