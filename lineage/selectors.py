"""Reads of the lineage graph: each walk is one recursive SQL query with a depth cap, on PostgreSQL and SQLite."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import quote
from uuid import UUID

from django.contrib.auth.models import AnonymousUser, User
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet

from catalog.models import Dataset
from catalog.selectors import datasets_at_locations, datasets_visible_to
from lineage.choices import AliasKind, EdgeStatus
from lineage.models import ColumnLineage, DatasetAlias, Job, LineageEdge, Run, RunDataset

UPSTREAM = "upstream"
DOWNSTREAM = "downstream"
BOTH = "both"
DIRECTIONS = (UPSTREAM, DOWNSTREAM, BOTH)

Identity = tuple[str, str]


def location_uris(identity: Identity) -> list[str]:
    """The source URIs a registered version would carry for this OpenLineage identity (naming spec:
    local files are `file` + absolute path; object stores and web servers are `scheme://authority` + path)."""
    namespace, name = identity
    lowered = namespace.lower().rstrip("/")
    if lowered in ("file", "file:", "file://localhost", "file:/"):
        path = "/" + name.strip("/")
        return ["file://" + quote(path)]
    if lowered.startswith(("s3://", "s3a://", "gs://", "https://", "http://")):
        return [namespace.rstrip("/") + "/" + name.strip("/")]
    return []


def datasets_resolve(identities: Iterable[Identity]) -> dict[Identity, Dataset]:
    """The catalog datasets these OpenLineage identities name: a dataset's own (namespace, name), one
    of its aliases, or the location of one of its registered sources. Unknown identities are absent.

    A storage location is named by the dataset registered there before any symlinks facet that
    named it: a pipeline may call a path its own before anyone registers it, not after."""
    wanted = set(identities)
    if not wanted:
        return {}
    own = Q()
    for namespace, name in wanted:
        own |= Q(namespace=namespace, name=name)
    resolved: dict[Identity, Dataset] = {(d.namespace, d.name): d for d in Dataset.objects.filter(own)}
    missing = wanted - resolved.keys()
    symlinked: dict[Identity, Dataset] = {}
    if missing:
        aliased = Q()
        for namespace, name in missing:
            aliased |= Q(namespace=namespace, name=name)
        for alias in DatasetAlias.objects.filter(aliased).select_related("dataset"):
            identity = (alias.namespace, alias.name)
            if alias.kind == AliasKind.SYMLINK and location_uris(identity):
                symlinked[identity] = alias.dataset
            else:
                resolved[identity] = alias.dataset
        missing = wanted - resolved.keys()
    if missing:
        uris = {identity: location_uris(identity) for identity in missing}
        located = datasets_at_locations(uri for candidates in uris.values() for uri in candidates)
        for identity, candidates in uris.items():
            for uri in candidates:
                if uri in located:
                    resolved[identity] = located[uri]
                    break
    for identity, dataset in symlinked.items():
        resolved.setdefault(identity, dataset)
    return resolved


def datasets_hidden_from(user: User | AnonymousUser, dataset_ids: Iterable[UUID]) -> set[UUID]:
    """Which of these datasets the user may not read: those a lineage answer must show without their
    identity (no id, name, version, field or license), under the one rule of `datasets_visible_to`."""
    wanted = set(dataset_ids)
    if not wanted:
        return set()
    return wanted - set(datasets_visible_to(user).filter(pk__in=wanted).values_list("pk", flat=True))


def runs_visible_to(user: User | AnonymousUser) -> QuerySet[Run]:
    """The runs a user may list: those that read or wrote at least one dataset the user may read, or
    no dataset at all. A run that touched only datasets hidden from the user is itself about them
    (its job, its times, its facets), so it is not listed."""
    runs = Run.objects.all()
    if not user.is_authenticated:
        return runs.none()
    if user.is_staff:
        return runs
    touched = RunDataset.objects.filter(run_id=OuterRef("pk"))
    readable = touched.filter(dataset__in=datasets_visible_to(user))
    return runs.filter(~Exists(touched) | Exists(readable))


def jobs_visible_to(user: User | AnonymousUser) -> QuerySet[Job]:
    """The jobs a user may list, by the rule of `runs_visible_to` over all of a job's runs."""
    jobs = Job.objects.all()
    if not user.is_authenticated:
        return jobs.none()
    if user.is_staff:
        return jobs
    touched = RunDataset.objects.filter(run__job_id=OuterRef("pk"))
    readable = touched.filter(dataset__in=datasets_visible_to(user))
    return jobs.filter(~Exists(touched) | Exists(readable))


def jobs_touching_hidden(user: User | AnonymousUser, job_ids: Iterable[UUID]) -> set[UUID]:
    """Which of these jobs ran on a dataset the user may not read: their facets and description,
    written by whoever ran them (a query's text, a documentation facet), may name it."""
    wanted = set(job_ids)
    if not wanted or (user.is_authenticated and user.is_staff):
        return set()
    touched = RunDataset.objects.filter(run__job_id__in=wanted).exclude(dataset__in=datasets_visible_to(user))
    return set(touched.values_list("run__job_id", flat=True).distinct())


def runs_hidden_from(user: User | AnonymousUser, run_ids: Iterable[UUID]) -> set[UUID]:
    """Which of these runs `runs_visible_to` does not list to the user."""
    wanted = set(run_ids)
    if not wanted:
        return set()
    return wanted - set(runs_visible_to(user).filter(pk__in=wanted).values_list("pk", flat=True))


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


def _uuid(value: Any) -> UUID:
    # PostgreSQL answers UUIDs; SQLite the hex text Django stores.
    return value if isinstance(value, UUID) else UUID(str(value))


def _maybe_uuid(value: Any) -> UUID | None:
    return None if value is None else _uuid(value)


def _same(value: Any) -> Any:
    return value


def _db_uuid(value: UUID) -> Any:
    return Dataset._meta.pk.get_db_prep_value(value, connection)


def walk_sql(direction: str) -> str:
    """Datasets reachable from the start within the depth cap, and the edges between them.

    UNION (not UNION ALL) keeps each (dataset, depth) once, so cycles end at the cap; the outer
    query keeps each dataset at its shortest distance and the edges that lead one step further.
    """
    table = connection.ops.quote_name(LineageEdge._meta.db_table)
    near, far = ("target_id", "source_id") if direction == UPSTREAM else ("source_id", "target_id")
    # Only our own table and column names enter the text; values are parameters.
    return f"""
        WITH RECURSIVE walk(node, depth) AS (
            SELECT %s, 0
            UNION
            SELECT e.{far}, w.depth + 1 FROM {table} e JOIN walk w ON e.{near} = w.node WHERE w.depth < %s
        ),
        reached(node, depth) AS (SELECT node, MIN(depth) FROM walk GROUP BY node)
        SELECT r.node, r.depth, e.id, e.{far}, e.job_id, e.run_id, e.source_version_id, e.target_version_id,
            e.status
        FROM reached r LEFT JOIN {table} e ON e.{near} = r.node AND r.depth < %s
    """


def lineage_walk(dataset_id: UUID, *, depth: int, direction: str = UPSTREAM) -> Walk:
    """Walk the dataset graph from one dataset, upstream (where it came from), downstream (what was
    made from it) or both, at most `depth` edges away. One SQL query per direction."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}")
    walk = Walk(start=dataset_id, depths={dataset_id: 0})
    depths = walk.depths
    # PostgreSQL answers UUIDs; SQLite the hex text Django stores, converted here.
    as_uuid = _uuid if connection.vendor != "postgresql" else _same
    maybe = _maybe_uuid if connection.vendor != "postgresql" else _same
    edges: dict[int, Edge] = {}
    for way in (UPSTREAM, DOWNSTREAM) if direction == BOTH else (direction,):
        with connection.cursor() as cursor:
            cursor.execute(walk_sql(way), [_db_uuid(dataset_id), depth, depth])
            rows = cursor.fetchall()
        upstream = way == UPSTREAM
        for node, node_depth, edge_id, far, job, run, source_version, target_version, status in rows:
            near = as_uuid(node)
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
    return walk


def _upstream_many_sql(roots: int) -> str:
    """The upstream walk of several datasets at once, each row tagged with the walk (root) it is of,
    along edges of the status given (the parameter after the seeds, and again after the depth)."""
    edges = connection.ops.quote_name(LineageEdge._meta.db_table)
    datasets = connection.ops.quote_name(Dataset._meta.db_table)
    seeds = ", ".join(["%s"] * roots)
    return f"""
        WITH RECURSIVE walk(root, node, depth) AS (
            SELECT d.id, d.id, 0 FROM {datasets} d WHERE d.id IN ({seeds})
            UNION
            SELECT w.root, e.source_id, w.depth + 1 FROM {edges} e JOIN walk w ON e.target_id = w.node
            WHERE e.status = %s AND w.depth < %s
        ),
        reached(root, node, depth) AS (SELECT root, node, MIN(depth) FROM walk GROUP BY root, node)
        SELECT r.root, r.node, r.depth, e.id, e.source_id, e.job_id, e.run_id, e.source_version_id, e.target_version_id
        FROM reached r LEFT JOIN {edges} e ON e.target_id = r.node AND e.status = %s AND r.depth < %s
    """


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
    with connection.cursor() as cursor:
        cursor.execute(
            _upstream_many_sql(len(roots)),
            [*(_db_uuid(root) for root in roots), EdgeStatus.CONFIRMED.value, depth, EdgeStatus.CONFIRMED.value, depth],
        )
        rows = cursor.fetchall()
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


def _column_walk_sql(direction: str) -> str:
    table = connection.ops.quote_name(ColumnLineage._meta.db_table)
    if direction == UPSTREAM:
        near_ds, near_f, far_ds, far_f = "output_dataset_id", "output_field", "input_dataset_id", "input_field"
    else:
        near_ds, near_f, far_ds, far_f = "input_dataset_id", "input_field", "output_dataset_id", "output_field"
    return f"""
        WITH RECURSIVE walk(ds, fld, depth) AS (
            SELECT %s, CAST(%s AS VARCHAR(1024)), 0
            UNION
            SELECT c.{far_ds}, c.{far_f}, w.depth + 1
            FROM {table} c JOIN walk w ON c.{near_ds} = w.ds AND c.{near_f} = w.fld
            WHERE w.depth < %s
        ),
        reached(ds, fld, depth) AS (SELECT ds, fld, MIN(depth) FROM walk GROUP BY ds, fld)
        SELECT r.ds, r.fld, r.depth, c.id, c.input_dataset_id, c.input_field, c.output_dataset_id, c.output_field,
            c.status
        FROM reached r LEFT JOIN {table} c ON c.{near_ds} = r.ds AND c.{near_f} = r.fld AND r.depth < %s
    """


def column_lineage_walk(dataset_id: UUID, field_name: str, *, depth: int, direction: str = UPSTREAM) -> ColumnWalk:
    """Walk column lineage from one field of a dataset: the fields it was computed from (upstream)
    or the fields computed from it (downstream). One SQL query per direction."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}")
    start = (dataset_id, field_name)
    walk = ColumnWalk(start=start, depths={start: 0})
    seen: set[int] = set()
    for way in (UPSTREAM, DOWNSTREAM) if direction == BOTH else (direction,):
        with connection.cursor() as cursor:
            cursor.execute(_column_walk_sql(way), [_db_uuid(dataset_id), field_name, depth, depth])
            rows = cursor.fetchall()
        for ds, fld, node_depth, edge_id, in_ds, in_f, out_ds, out_f, status in rows:
            key = (_uuid(ds), fld)
            walk.depths[key] = min(node_depth, walk.depths.get(key, node_depth))
            if edge_id is not None and edge_id not in seen:
                seen.add(edge_id)
                walk.edges.append(ColumnEdge(edge_id, _uuid(in_ds), in_f, _uuid(out_ds), out_f, status))
    walk.edges.sort(key=lambda edge: edge.id)
    return walk


# Namespaces hold a few colons (`postgres://host:5432`), names and fields now and then one: past this many the
# readings (one per pair of colons for a field) would cost the square of the id, and no real id needs them.
MAX_NODE_ID_COLONS = 16
# Far longer than any namespace, name and field (or a source's location read as a name) a dataset can have.
MAX_NODE_ID_LENGTH = 4096


class NodeIdInvalid(ValueError):
    pass


def node_id_candidates(text: str, *, parts: int) -> list[tuple[str, ...]]:
    """Every way to read `a:b:c` as `parts` pieces: namespaces (`s3://bucket`, `postgres://host:5432`)
    hold colons, so a node id alone is ambiguous; the caller keeps the reading that names a dataset.

    Linear in the id, and the readings are bounded: an id longer than any dataset could have, or with more
    than MAX_NODE_ID_COLONS colons, raises NodeIdInvalid."""
    if len(text) > MAX_NODE_ID_LENGTH:
        raise NodeIdInvalid(f"The node id is longer than {MAX_NODE_ID_LENGTH} characters; no dataset has such a name.")
    colons: list[int] = []
    at = text.find(":")
    while at != -1:
        if len(colons) == MAX_NODE_ID_COLONS:
            raise NodeIdInvalid(f"The node id has more than {MAX_NODE_ID_COLONS} colons; no dataset has such a name.")
        colons.append(at)
        at = text.find(":", at + 1)
    if parts == 2:
        return [(text[:i], text[i + 1 :]) for i in colons]
    return [(text[:i], text[i + 1 : j], text[j + 1 :]) for n, i in enumerate(colons) for j in colons[n + 1 :]]
