"""python -m profiler FILE [--format csv|tsv|parquet|jsonl|images|text] [--label-column NAME] [read options]

Prints the profile of a file, a directory or a glob as JSON, with its manifest and fingerprint.

Read options, for CSV and TSV: --delimiter (one character, "\\t" or "whitespace" for runs of spaces),
--no-header, --quote (one character, "" for none), --encoding, --null-value (repeatable; replaces the usual
null tokens), --skip-rows (lines before the header).
"""

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from profiler import api
from profiler.files import SourceError, build_manifest, expand, format_from_name, manifest_fingerprint
from profiler.formats import SOURCE_FORMATS
from profiler.readers import ReadOptions, read_options_parse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m profiler", description=__doc__.splitlines()[2])
    parser.add_argument("source", help="a file, a directory or a glob")
    parser.add_argument("--format", choices=SOURCE_FORMATS, help="detected from names if omitted")
    parser.add_argument("--label-column", help="the label; inferred from common names if omitted")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: every core)")
    parser.add_argument("--indent", type=int, default=None)
    reading = parser.add_argument_group("read options (csv and tsv)")
    reading.add_argument("--delimiter", help='one character, "\\t" for tabs, or "whitespace" for runs of spaces')
    reading.add_argument("--no-header", action="store_true", help="the first row is data; columns are column_1, ...")
    reading.add_argument("--quote", help='the quote character; "" reads quotes as ordinary characters')
    reading.add_argument("--encoding", help="the text encoding (utf-8, cp1252, latin-1, utf-16, ...)")
    reading.add_argument("--null-value", action="append", dest="null_values", help="a field read as null (repeatable)")
    reading.add_argument("--skip-rows", type=int, help="lines to skip before the header")
    parser.add_argument(
        "--task-type", choices=["classification", "regression"], help="what the label is; inferred if omitted"
    )
    args = parser.parse_args(argv)
    try:
        read_options = _read_options(args)
    except ValueError as exc:
        parser.error(str(exc))

    started = time.perf_counter()
    try:
        files = expand(args.source)
        named = [name for name in (format_from_name(file.relative_path) for file in files) if name]
        # A folder holding images is an image dataset (a CSV beside them is its manifest).
        format = args.format or ("images" if "images" in named else next(iter(named), None))
        if format is None:
            raise SourceError("The format cannot be told from the file names; pass --format.")
        with ThreadPoolExecutor(max_workers=1) as hashing:
            # Hashing releases the GIL: the fingerprint is computed while the profile is.
            manifest = hashing.submit(build_manifest, files)
            options = api.Options(label_column=args.label_column, read_options=read_options, task_type=args.task_type)
            profile = api.profile(files, format, options, workers=args.workers)
            entries = manifest.result()
    except SourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # Thumbnails are for the catalog's pages; the command says which images they show.
    thumbnails = [
        {key: value for key, value in entry.items() if key != "content"} for entry in profile.pop("thumbnails", [])
    ]
    output = {
        "row_count": profile["row_count"],
        "format": format,
        "fingerprint": manifest_fingerprint(entries),
        "size_bytes": sum(entry.size for entry in entries),
        "manifest": [entry.as_dict() for entry in entries],
        **profile,
        **({"thumbnails": thumbnails} if thumbnails else {}),
        "elapsed_seconds": round(time.perf_counter() - started, 3),
    }
    json.dump(output, sys.stdout, indent=args.indent, ensure_ascii=False, allow_nan=False)
    sys.stdout.write("\n")
    return 0


def _read_options(args: argparse.Namespace) -> ReadOptions | None:
    given = {
        "delimiter": args.delimiter,
        "header": False if args.no_header else None,
        "quote": args.quote,
        "encoding": args.encoding,
        "null_values": args.null_values,
        "skip_rows": args.skip_rows,
    }
    return read_options_parse({name: value for name, value in given.items() if value is not None})


if __name__ == "__main__":
    sys.exit(main())
