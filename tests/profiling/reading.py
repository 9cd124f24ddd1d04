"""Reading one file as the engine's readers do, for the readers' tests."""

import pyarrow as pa

from profiler.files import SourceFile
from profiler.readers import (
    Partition,
    plan_partitions,
    read_partition,
    read_schema,
)


def partition_of(path, format="csv") -> Partition:
    [partition] = plan_partitions([SourceFile(path.name, path)], format)
    return partition


def read_table(path, format="csv", **kwargs) -> pa.Table:
    partition = partition_of(path, format)
    batches = list(read_partition(partition, **kwargs))
    return pa.Table.from_batches(batches, schema=batches[0].schema if batches else read_schema(partition))


def numbered_rows(count, bad_row=None, bad_value="oops"):
    return "".join(f"{index},{bad_value if index == bad_row else index}\n" for index in range(count))
