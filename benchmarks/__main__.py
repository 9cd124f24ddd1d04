"""Benchmarks that print ratios against a reference measured in the same run.

    python -m benchmarks            full size
    python -m benchmarks --smoke    a small size, for CI
    python -m benchmarks --only audit lineage    some of them

Runs on its own throw-away database (`<NAME>_bench`) of the configured DATABASE_URL.
"""

import argparse
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="small sizes, for CI")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=[
            "api",
            "drift",
            "lineage",
            "audit",
            "load",
            "media",
            "tables",
            "object-store",
            "label-quality",
            "patterns",
        ],
        help="run only these",
    )
    args = parser.parse_args()

    import django
    from django.conf import settings

    settings.ROOT_URLCONF = "benchmarks.urls"
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = settings.DATABASES["default"]["NAME"] + "_bench"
    django.setup()

    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        from benchmarks import api, audit, drift, labels, lineage, load, media, object_store, patterns, tables

        suites = {
            "api": api,
            "drift": drift,
            "lineage": lineage,
            "audit": audit,
            "load": load,
            "media": media,
            "tables": tables,
            "object-store": object_store,
            "label-quality": labels,
            "patterns": patterns,
        }
        results = [
            result
            for name, suite in suites.items()
            if not args.only or name in args.only
            for result in suite.run(smoke=args.smoke)
        ]
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)

    failed = False
    print(f"\n{'benchmark':<60} {'measured':>22} {'reference':>22} {'ratio':>8}  target")
    for result in results:
        mark = "ok" if result["ok"] else "MISSED"
        failed |= not result["ok"]
        print(
            f"{result['name']:<60} {result['measured']:>22} {result['reference']:>22} "
            f"{result['ratio']:>8.2f}  {result['target']} {mark}"
        )
    return 1 if failed and not args.smoke else 0


if __name__ == "__main__":
    sys.exit(main())
