"""python -m catalog.profiling FILE [--format csv|tsv|parquet|jsonl|images|text] [--label-column NAME]

Prints the profile of a file, a directory or a glob as JSON, with its manifest and fingerprint.
"""

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from catalog.profiling.engine import Options, profile_files
from catalog.profiling.files import SourceError, build_manifest, expand, format_from_name, manifest_fingerprint


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m catalog.profiling", description=__doc__.splitlines()[2])
    parser.add_argument("source", help="a file, a directory or a glob")
    parser.add_argument(
        "--format", choices=["csv", "tsv", "parquet", "jsonl", "images", "text"], help="detected from names if omitted"
    )
    parser.add_argument("--label-column", help="the label; inferred from common names if omitted")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: every core)")
    parser.add_argument("--indent", type=int, default=None)
    args = parser.parse_args(argv)

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
            profile = profile_files(
                files, format, options=Options(label_column=args.label_column), workers=args.workers
            )
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


if __name__ == "__main__":
    sys.exit(main())
