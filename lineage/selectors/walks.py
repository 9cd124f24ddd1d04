"""Walks of the lineage graph: each is one recursive SQL query with a depth cap, on PostgreSQL and SQLite.

Three reads walk it (a dataset's graph, the audit's upstream walk of many datasets, a field's column
lineage), and `_walk_sql` builds the query of each: they differ only in the table of edges followed,
the columns that name a node, where the walk starts and which edges count.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from uuid import UUID

from django.db import connection, models

from catalog.models import Dataset
from lineage.choices import EdgeStatus
from lineage.models import ColumnLineage, LineageEdge

UPSTREAM = "upstream"
DOWNSTREAM = "downstream"
BOTH = "both"
DIRECTIONS = (UPSTREAM, DOWNSTREAM, BOTH)


class Edge(NamedTuple):
    """A dataset-to-dataset edge; without a job, one a person declared."""

    id: int
    source_id: UUID
    target_id: UUID
    job_id: UUID | None
    run_id: UUID | None
    source_version_id: UUID | None
    target_version_id: UUID | None
    status: str = EdgeStatus.CONFIRMED


@dataclass
class Walk:
    """What a walk reached: each dataset with its distance from the start, and the edges followed."""

    start: UUID
    depths: dict[UUID, int] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    # The datasets each way of the walk reached (upstream, downstream): which jobs beside them belong
    # to the graph (those that wrote what was reached upstream, those that read what was reached
    # downstream).
    reached: dict[str, set[UUID]] = field(default_factory=dict)
    # A walk from a job: the job, at depth 0, and its datasets at depth 1.
    start_job: UUID | None = None
    # The depth cap the walk was made with: nothing is joined to a dataset at the cap.
    cap: int | None = None

    def paths(self) -> dict[UUID, list[UUID]]:
        """The shortest path of datasets from the start to each dataset reached (upstream walks read
        it as: the start was derived, through these, from that dataset)."""
        forward: dict[UUID, list[UUID]] = {}
        for edge in self.edges:
            forward.setdefault(edge.target_id, []).append(edge.source_id)
            forward.setdefault(edge.source_id, []).append(edge.target_id)
        paths = {self.start: [self.start]}
        frontier = [self.start]
        while frontier:
            following = []
            for node in frontier:
                for neighbour in forward.get(node, []):
                    if neighbour not in paths and neighbour in self.depths:
                        paths[neighbour] = [*paths[node], neighbour]
                        following.append(neighbour)
            frontier = following
        return paths

    def upstream_paths(self) -> dict[UUID, list[Edge]]:
        """For an upstream walk: the shortest chain of edges by which the start derives from each
        dataset reached, following every edge from its target to its source (never back down)."""
        into: dict[UUID, list[Edge]] = {}
        for edge in self.edges:
            into.setdefault(edge.target_id, []).append(edge)
        paths: dict[UUID, list[Edge]] = {self.start: []}
        frontier = [self.start]
        while frontier:
            following = []
            for node in frontier:
                for edge in into.get(node, []):
                    if edge.source_id not in paths:
                        paths[edge.source_id] = [*paths[node], edge]
                        following.append(edge.source_id)
            frontier = following
        return paths


@dataclass(frozen=True)
class ColumnEdge:
    id: int
    input_dataset_id: UUID
    input_field: str
    output_dataset_id: UUID
    output_field: str
    status: str = EdgeStatus.CONFIRMED


@dataclass
class ColumnWalk:
    start: tuple[UUID, str]
    depths: dict[tuple[UUID, str], int] = field(default_factory=dict)
    edges: list[ColumnEdge] = field(default_factory=list)


def _uuid(value: Any) -> UUID:
    # PostgreSQL answers UUIDs; SQLite the hex text Django stores.
    return value if isinstance(value, UUID) else UUID(str(value))


def _maybe_uuid(value: Any) -> UUID | None:
    return None if value is None else _uuid(value)


def _same(value: Any) -> Any:
    return value


def _db_uuid(value: UUID) -> Any:
    return Dataset._meta.pk.get_db_prep_value(value, connection)


def _walk_sql(
    model: type[models.Model],
    *,
    near: Sequence[str],
    far: Sequence[str],
    start: str,
    returned: Sequence[str],
    rooted: bool = False,
    status: bool = False,
) -> str:
    """The walk every lineage read is: the nodes reachable from the start within the depth cap, and
    the edges that lead one step further from each.

    An edge (a row of `model`'s table) joins the node its `near` columns name to the one its `far`
    columns name: a dataset (one column) or a field of a dataset (two). `start` selects the first
    nodes at depth 0, each after the walk (root) it starts when `rooted`, so one query walks from
    many; with `status`, only edges of the status given are followed. The rows are the node (after
    its root), its least depth and the `returned` columns of each edge out of it, or NULLs.

    UNION (not UNION ALL) keeps each (node, depth) once, so cycles end at the cap; the outer query
    keeps each node at its shortest distance and the edges that lead one step further. Parameters:
    the start's, then (the status and) the depth for the walk, then (the status and) the depth for
    the edges returned.
    """
    table = connection.ops.quote_name(model._meta.db_table)
    nodes = ("node", "field")[: len(near)]
    names = ("root", *nodes) if rooted else nodes
    keys, reached = ", ".join(names), ", ".join(f"r.{name}" for name in names)
    step = " AND ".join(f"e.{column} = w.{node}" for column, node in zip(near, nodes, strict=True))
    meet = " AND ".join(f"e.{column} = r.{node}" for column, node in zip(near, nodes, strict=True))
    following = ", ".join((["w.root"] if rooted else []) + [f"e.{column}" for column in far])
    counted = "e.status = %s AND " if status else ""
    # Only our own table and column names enter the text; values are parameters.
    return f"""
        WITH RECURSIVE walk({keys}, depth) AS (
            {start}
            UNION
            SELECT {following}, w.depth + 1 FROM {table} e JOIN walk w ON {step} WHERE {counted}w.depth < %s
        ),
        reached({keys}, depth) AS (SELECT {keys}, MIN(depth) FROM walk GROUP BY {keys})
        SELECT {reached}, r.depth, {", ".join(f"e.{column}" for column in returned)}
        FROM reached r LEFT JOIN {table} e ON {meet} AND {counted}r.depth < %s
    """


def _walk_rows(sql: str, parameters: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, parameters)
        return cursor.fetchall()


def _ways(direction: str) -> tuple[str, ...]:
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}")
    return (UPSTREAM, DOWNSTREAM) if direction == BOTH else (direction,)


# --- Datasets --------------------------------------------------------------------------------------


def walk_sql(direction: str) -> str:
    """Datasets reachable from the start within the depth cap, and the edges between them.
    Parameters: the start, the depth, the depth again."""
    near, far = ("target_id", "source_id") if direction == UPSTREAM else ("source_id", "target_id")
    return _walk_sql(
        LineageEdge,
        near=[near],
        far=[far],
        start="SELECT %s, 0",
        returned=["id", far, "job_id", "run_id", "source_version_id", "target_version_id", "status"],
    )


def _walk_from_sql(direction: str, starts: int, start_depth: int) -> str:
    """`walk_sql` from several datasets at once, each at `start_depth`. Parameters: the starts, the
    depth, the depth again."""
    near, far = ("target_id", "source_id") if direction == UPSTREAM else ("source_id", "target_id")
    datasets = connection.ops.quote_name(Dataset._meta.db_table)
    seeds = ", ".join(["%s"] * starts)
    return _walk_sql(
        LineageEdge,
        near=[near],
        far=[far],
        # An int of ours, never a value from a request.
        start=f"SELECT d.id, {int(start_depth)} FROM {datasets} d WHERE d.id IN ({seeds})",
        returned=["id", far, "job_id", "run_id", "source_version_id", "target_version_id", "status"],
    )


def lineage_walk(dataset_id: UUID, *, depth: int, direction: str = UPSTREAM) -> Walk:
    """Walk the dataset graph from one dataset, upstream (where it came from), downstream (what was
    made from it) or both, at most `depth` edges away. One SQL query per direction."""
    walk = Walk(start=dataset_id, depths={dataset_id: 0}, cap=depth)
    _walk_into(walk, {way: [dataset_id] for way in _ways(direction)}, start_depth=0, depth=depth)
    return walk


def lineage_walk_from_job(
    job_id: UUID, *, inputs: Iterable[UUID], outputs: Iterable[UUID], depth: int, direction: str = BOTH
) -> Walk:
    """Walk the dataset graph from a job: upstream from what it read, downstream from what it
    wrote (or both), its datasets one edge away from it. One SQL query per direction."""
    starts = {UPSTREAM: sorted(set(inputs)), DOWNSTREAM: sorted(set(outputs))}
    walk = Walk(start=job_id, start_job=job_id, cap=depth)
    for dataset_id in {*starts[UPSTREAM], *starts[DOWNSTREAM]}:
        walk.depths[dataset_id] = 1
    if depth >= 1:
        wanted = {way: starts[way] for way in _ways(direction) if starts[way]}
        _walk_into(walk, wanted, start_depth=1, depth=depth)
    return walk


def _walk_into(walk: Walk, starts: dict[str, list[UUID]], *, start_depth: int, depth: int) -> None:
    depths = walk.depths
    # PostgreSQL answers UUIDs; SQLite the hex text Django stores, converted here.
    as_uuid = _uuid if connection.vendor != "postgresql" else _same
    maybe = _maybe_uuid if connection.vendor != "postgresql" else _same
    edges: dict[int, Edge] = {}
    for way, seeds in starts.items():
        reached = walk.reached.setdefault(way, set(seeds))
        if len(seeds) == 1 and start_depth == 0:
            sql, parameters = walk_sql(way), [_db_uuid(seeds[0]), depth, depth]
        else:
            sql = _walk_from_sql(way, len(seeds), start_depth)
            parameters = [*(_db_uuid(seed) for seed in seeds), depth, depth]
        rows = _walk_rows(sql, parameters)
        upstream = way == UPSTREAM
        for node, node_depth, edge_id, far, job, run, source_version, target_version, status in rows:
            near = as_uuid(node)
            reached.add(near)
            if node_depth < depths.get(near, node_depth + 1):
                depths[near] = node_depth
            if edge_id is None or edge_id in edges:
                continue
            far = as_uuid(far)
            source, target = (far, near) if upstream else (near, far)
            edges[edge_id] = Edge(
                edge_id, source, target, maybe(job), maybe(run), maybe(source_version), maybe(target_version), status
            )
    walk.edges = sorted(edges.values())


def _upstream_many_sql(roots: int) -> str:
    """The upstream walk of several datasets at once, each row tagged with the walk (root) it is of,
    along edges of the status given (the parameter after the seeds, and again after the depth)."""
    datasets = connection.ops.quote_name(Dataset._meta.db_table)
    seeds = ", ".join(["%s"] * roots)
    return _walk_sql(
        LineageEdge,
        near=["target_id"],
        far=["source_id"],
        start=f"SELECT d.id, d.id, 0 FROM {datasets} d WHERE d.id IN ({seeds})",
        returned=["id", "source_id", "job_id", "run_id", "source_version_id", "target_version_id"],
        rooted=True,
        status=True,
    )


def lineage_upstream(dataset_ids: Iterable[UUID], *, depth: int = 50) -> dict[UUID, Walk]:
    """Everything each dataset was derived from, with the paths to it: what an audit must check.

    Only confirmed edges are followed: lineage reported by someone who may not write its target
    counts once the target's owners confirm it. One recursive query for all the datasets, whatever
    the size of the graph above them."""
    roots = sorted(set(dataset_ids))
    walks = {root: Walk(start=root, depths={root: 0}) for root in roots}
    if not roots:
        return walks
    as_uuid = _uuid if connection.vendor != "postgresql" else _same
    maybe = _maybe_uuid if connection.vendor != "postgresql" else _same
    confirmed = EdgeStatus.CONFIRMED.value
    rows = _walk_rows(
        _upstream_many_sql(len(roots)), [*(_db_uuid(root) for root in roots), confirmed, depth, confirmed, depth]
    )
    seen: dict[UUID, set[int]] = {root: set() for root in roots}
    for root, node, node_depth, edge_id, source, job, run, source_version, target_version in rows:
        walk = walks[as_uuid(root)]
        near = as_uuid(node)
        walk.depths[near] = min(node_depth, walk.depths.get(near, node_depth))
        if edge_id is None or edge_id in seen[walk.start]:
            continue
        seen[walk.start].add(edge_id)
        walk.edges.append(
            Edge(edge_id, as_uuid(source), near, maybe(job), maybe(run), maybe(source_version), maybe(target_version))
        )
    for walk in walks.values():
        walk.edges.sort()
    return walks


# --- Column lineage --------------------------------------------------------------------------------


def _column_walk_sql(direction: str) -> str:
    outputs, inputs = ("output_dataset_id", "output_field"), ("input_dataset_id", "input_field")
    near, far = (outputs, inputs) if direction == UPSTREAM else (inputs, outputs)
    return _walk_sql(
        ColumnLineage,
        near=near,
        far=far,
        start="SELECT %s, CAST(%s AS VARCHAR(1024)), 0",
        returned=["id", "input_dataset_id", "input_field", "output_dataset_id", "output_field", "status"],
    )


def _dataset_column_walk_sql(direction: str) -> str:
    """`_column_walk_sql` from every field of a dataset that column lineage names, as an output or an
    input. Parameters: the dataset twice, the depth, the depth again."""
    table = connection.ops.quote_name(ColumnLineage._meta.db_table)
    outputs, inputs = ("output_dataset_id", "output_field"), ("input_dataset_id", "input_field")
    near, far = (outputs, inputs) if direction == UPSTREAM else (inputs, outputs)
    return _walk_sql(
        ColumnLineage,
        near=near,
        far=far,
        start=(
            "SELECT s.node, s.field, 0 FROM ("
            f"SELECT output_dataset_id AS node, output_field AS field FROM {table} WHERE output_dataset_id = %s "
            f"UNION SELECT input_dataset_id, input_field FROM {table} WHERE input_dataset_id = %s) s"
        ),
        returned=["id", "input_dataset_id", "input_field", "output_dataset_id", "output_field", "status"],
    )


def column_lineage_walk(
    dataset_id: UUID, field_name: str | None, *, depth: int, direction: str = UPSTREAM
) -> ColumnWalk:
    """Walk column lineage from one field of a dataset (or, without a field, from every field of it
    that column lineage names): the fields it was computed from (upstream) or the fields computed
    from it (downstream). One SQL query per direction."""
    ways = _ways(direction)
    start = (dataset_id, field_name or "")
    walk = ColumnWalk(start=start, depths={start: 0} if field_name is not None else {})
    seen: set[int] = set()
    for way in ways:
        if field_name is None:
            sql, parameters = _dataset_column_walk_sql(way), [_db_uuid(dataset_id), _db_uuid(dataset_id), depth, depth]
        else:
            sql, parameters = _column_walk_sql(way), [_db_uuid(dataset_id), field_name, depth, depth]
        rows = _walk_rows(sql, parameters)
        for ds, fld, node_depth, edge_id, in_ds, in_f, out_ds, out_f, status in rows:
            key = (_uuid(ds), fld)
            walk.depths[key] = min(node_depth, walk.depths.get(key, node_depth))
            if edge_id is not None and edge_id not in seen:
                seen.add(edge_id)
                walk.edges.append(ColumnEdge(edge_id, _uuid(in_ds), in_f, _uuid(out_ds), out_f, status))
    walk.edges.sort(key=lambda edge: edge.id)
    return walk
