"""Walks rendered in Marquez's graph format: `{"graph": [{"id", "type", "data", "inEdges", "outEdges"}]}`.

Unlike Marquez the graph is directed: an upstream read holds only what flowed into the start.
Edges through a job pass by the job's node (dataset -> job -> dataset); declared edges join datasets.
What a graph shows is read by the selectors (`walk_graph_read`, `column_walk_graph_read`); this module
only shapes the answer.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib.auth.models import AnonymousUser, User

from catalog.models import Dataset
from lineage.api import marquez as marquez_shapes
from lineage.choices import Direction, EdgeStatus
from lineage.models import ColumnLineage, Job
from lineage.selectors import ColumnWalk, Walk, column_walk_graph_read, walk_graph_read


def dataset_node_id(dataset: Dataset) -> str:
    return f"dataset:{dataset.namespace}:{dataset.name}"


def _placeholders(hidden: set[UUID], order: dict[UUID, int]) -> dict[UUID, int]:
    """A number for each dataset the reader may not read, standing in for its identity in node ids:
    the graph keeps its shape (something is there, joined to these nodes) and names nothing."""
    return {pk: index for index, pk in enumerate(sorted(hidden, key=lambda pk: (order.get(pk, 0), str(pk))), 1)}


class _Graph:
    def __init__(self, *, bare: bool = False, reversed_in: bool = False) -> None:
        self.nodes: dict[str, dict[str, Any]] = {}
        self.edges: set[tuple[str, str]] = set()
        self.extra: dict[tuple[str, str], dict[str, Any]] = {}
        # Marquez's edges: `{origin, destination}` only; in its column lineage a field's inEdges go
        # from the field to each input (origin = this node), the reverse of its table lineage.
        self.bare = bare
        self.reversed_in = reversed_in

    def node(self, node_id: str, kind: str, data: dict[str, Any]) -> None:
        self.nodes.setdefault(node_id, {"id": node_id, "type": kind, "data": data})

    def edge(self, origin: str, destination: str, **extra: Any) -> None:
        self.edges.add((origin, destination))
        if any(value is not None for value in extra.values()):
            current = self.extra.setdefault((origin, destination), {})
            # A dataset -> job hop stands for every edge through the job: it counts if one of them does.
            if current.get("status") == EdgeStatus.CONFIRMED:
                extra = {**extra, "status": EdgeStatus.CONFIRMED}
            current.update({key: value for key, value in extra.items() if value is not None})

    def render(self) -> dict[str, Any]:
        into: dict[str, list[dict[str, Any]]] = {node_id: [] for node_id in self.nodes}
        out: dict[str, list[dict[str, Any]]] = {node_id: [] for node_id in self.nodes}
        for origin, destination in sorted(self.edges):
            extra = {} if self.bare else self.extra.get((origin, destination), {})
            entry = {"origin": origin, "destination": destination, **extra}
            out[origin].append(entry)
            into[destination].append({"origin": destination, "destination": origin} if self.reversed_in else entry)
        return {
            "graph": [
                {**self.nodes[node_id], "inEdges": into[node_id], "outEdges": out[node_id]}
                for node_id in sorted(self.nodes)
            ]
        }


def _dataset_data(dataset: Dataset, depth: int) -> dict[str, Any]:
    report = getattr(dataset, "lineage_report", None)
    latest = dataset.latest_version
    return {
        "type": "DATASET",
        "id": {"namespace": dataset.namespace, "name": dataset.name},
        "namespace": dataset.namespace,
        "name": dataset.name,
        "dataset_id": str(dataset.pk),
        "description": dataset.description,
        "license": dataset.license,
        "sensitivity": dataset.sensitivity,
        "lifecycle": dataset.lifecycle,
        "dataset_type": report.dataset_type if report else "",
        "source_uri": report.source_uri if report else "",
        "fields": report.fields if report else [],
        "latest_version": (
            {"id": str(latest.pk), "number": latest.number, "status": latest.status} if latest is not None else None
        ),
        "depth": depth,
    }


def _job_data(job: Job, *, withheld: bool = False) -> dict[str, Any]:
    # A job that ran on a dataset the reader may not read: its description may name it, and its
    # latest run may be one they may not see.
    run = None if withheld else job.latest_run
    return {
        "type": "JOB",
        "id": {"namespace": job.namespace, "name": job.name},
        "namespace": job.namespace,
        "name": job.name,
        "job_id": str(job.pk),
        "job_type": job.job_type,
        "description": "" if withheld else job.description,
        "latest_run": (
            {"id": str(run.pk), "state": run.state, "started_at": run.started_at, "ended_at": run.ended_at}
            if run is not None
            else None
        ),
    }


def render_walk(walk: Walk, user: User | AnonymousUser, *, marquez: bool = False) -> dict[str, Any]:
    """The graph of a dataset walk; datasets the reader may not see are shown without their identity.
    Every job of the graph lists all it read and wrote, whichever way the walk reached it. With
    `marquez`, node data in Marquez's own shapes and edges as bare `{origin, destination}`."""
    read = walk_graph_read(walk, user)
    datasets, jobs, hidden, hidden_jobs = read.datasets, read.jobs, read.hidden, read.hidden_jobs
    placeholders = _placeholders(hidden, read.depths)

    graph = _Graph(bare=marquez)
    names: dict[UUID, str] = {}
    identities: dict[str, dict[str, str]] = {}
    for pk, dataset in datasets.items():
        if pk in hidden:
            names[pk] = f"dataset:restricted:#{placeholders[pk]}"
            identities[names[pk]] = {"namespace": marquez_shapes.RESTRICTED_NAMESPACE, "name": f"#{placeholders[pk]}"}
            if marquez:
                data = marquez_shapes.restricted_dataset_data(f"#{placeholders[pk]}")
            else:
                data = {"type": "DATASET", "restricted": True, "depth": read.depths[pk]}
        else:
            names[pk] = dataset_node_id(dataset)
            identities[names[pk]] = {"namespace": dataset.namespace, "name": dataset.name}
            data = marquez_shapes.dataset_data(dataset) if marquez else _dataset_data(dataset, read.depths[pk])
        graph.node(names[pk], "DATASET", data)
    job_placeholders = {pk: index for index, pk in enumerate(sorted(hidden_jobs, key=str), 1)}
    job_names: dict[UUID, str] = {}
    for job in sorted(jobs.values(), key=lambda job: (job.namespace, job.name)):
        if job.pk in hidden_jobs:
            job_names[job.pk] = f"job:restricted:#{job_placeholders[job.pk]}"
            if marquez:
                data = marquez_shapes.restricted_job_data(f"#{job_placeholders[job.pk]}")
            else:
                data = {"type": "JOB", "restricted": True}
        else:
            job_names[job.pk] = f"job:{job.namespace}:{job.name}"
            withheld = job.pk in read.withheld
            if marquez:
                # Its inputs and outputs are filled from its edges below.
                data = marquez_shapes.job_data(job, inputs=[], outputs=[], withheld=withheld, latest_run=job.latest_run)
            else:
                data = {**_job_data(job, withheld=withheld), "depth": read.job_depths[job.pk]}
        graph.node(job_names[job.pk], "JOB", data)
    for edge in read.edges:
        source, target = names[edge.source_id], names[edge.target_id]
        both_hidden = edge.source_id in hidden and edge.target_id in hidden
        run_id = str(edge.run_id) if edge.run_id and not both_hidden else None
        if edge.job_id is None:
            graph.edge(source, target, declared=True, status=edge.status)
            continue
        job_node = job_names[edge.job_id]
        # Unconfirmed: reported by someone who may not write the target; audits do not follow it.
        # The version an edge read or wrote is as much the dataset's identity as its id.
        source_version = None if edge.source_id in hidden else _str(edge.source_version_id)
        target_version = None if edge.target_id in hidden else _str(edge.target_version_id)
        graph.edge(source, job_node, run_id=run_id, version_id=source_version, status=edge.status)
        graph.edge(job_node, target, run_id=run_id, version_id=target_version, status=edge.status)
    # What a job that only reads (or only writes) touched: no edge joins those datasets to it.
    for job_id, touched in read.io.items():
        for pk, direction in touched:
            if direction == Direction.INPUT:
                graph.edge(names[pk], job_names[job_id])
            else:
                graph.edge(job_names[job_id], names[pk])
    rendered = graph.render()
    if marquez:
        for node in rendered["graph"]:
            if node["type"] == "JOB" and not node["data"].get("restricted"):
                node["data"]["inputs"] = [identities[edge["origin"]] for edge in node["inEdges"]]
                node["data"]["outputs"] = [identities[edge["destination"]] for edge in node["outEdges"]]
    return rendered


def _str(value: UUID | None) -> str | None:
    return str(value) if value is not None else None


def render_column_walk(walk: ColumnWalk, user: User | AnonymousUser, *, marquez: bool = False) -> dict[str, Any]:
    """The graph of a column-lineage walk: one node per dataset field, edges from input to output field.
    With `marquez`, node data in Marquez's shape (`fieldType`, `inputFields`, ...) and a field's
    inEdges from it to each of its inputs, as Marquez sends them."""
    read = column_walk_graph_read(walk, user)
    datasets, hidden, rows, profiled = read.datasets, read.hidden, read.rows, read.profiled
    # One placeholder per field of a hidden dataset, numbered without its dataset's id or its name.
    hidden_fields = sorted(
        (key for key in walk.depths if key[0] in hidden), key=lambda key: (walk.depths[key], str(key[0]), key[1])
    )
    placeholders = {key: index for index, key in enumerate(hidden_fields, 1)}

    def node_id(dataset_id: UUID, field: str) -> str:
        if dataset_id in hidden:
            return f"datasetField:restricted:#{placeholders[(dataset_id, field)]}"
        dataset = datasets[dataset_id]
        return f"datasetField:{dataset.namespace}:{dataset.name}:{field}"

    entry: dict[str, Any]

    # A field's type as a pipeline reported it, else as profiling found it in the latest version.
    def field_type(dataset: Dataset, field: str) -> str:
        report = getattr(dataset, "lineage_report", None)
        for entry in report.fields if report else []:
            if entry.get("name") == field:
                return str(entry.get("type", ""))
        if dataset.latest_version_id is None:
            return ""
        return profiled.get((dataset.latest_version_id, field), "")

    inputs: dict[tuple[UUID, str], list[dict[str, Any]]] = {}
    graph = _Graph(bare=marquez, reversed_in=marquez)
    for edge in walk.edges:
        row = rows[edge.id]
        source = node_id(edge.input_dataset_id, edge.input_field)
        target = node_id(edge.output_dataset_id, edge.output_field)
        graph.edge(source, target, status=edge.status)
        if marquez:
            entry = _marquez_input(row, datasets, hidden)
        elif edge.input_dataset_id in hidden:
            # Neither the field's name nor how it was transformed: both describe the hidden dataset.
            entry = {
                "namespace": "",
                "name": "",
                "field": "",
                "restricted": True,
                "transformations": [],
                "transformation_type": "",
                "transformation_description": "",
                "status": row.status,
            }
        else:
            entry = {
                "namespace": datasets[edge.input_dataset_id].namespace,
                "name": datasets[edge.input_dataset_id].name,
                "field": edge.input_field,
                "transformations": row.transformations,
                "transformation_type": row.transformation_type,
                "transformation_description": row.transformation_description,
                "status": row.status,
            }
        inputs.setdefault((edge.output_dataset_id, edge.output_field), []).append(entry)
    for (dataset_id, field), depth in walk.depths.items():
        dataset = datasets[dataset_id]
        data: dict[str, Any]
        if marquez:
            found = inputs.get((dataset_id, field), [])
            first = next((entry for entry in found if not entry.get("restricted")), None)
            data = {
                "namespace": marquez_shapes.RESTRICTED_NAMESPACE if dataset_id in hidden else dataset.namespace,
                "dataset": "" if dataset_id in hidden else dataset.name,
                "datasetVersion": None,
                "field": f"#{placeholders[(dataset_id, field)]}" if dataset_id in hidden else field,
                "fieldType": None if dataset_id in hidden else field_type(dataset, field),
                "transformationDescription": first["transformationDescription"] if first else None,
                "transformationType": first["transformationType"] if first else None,
                "inputFields": found,
            }
            if dataset_id in hidden:
                data = {**data, "inputFields": [], "transformationDescription": None, "transformationType": None}
                data["restricted"] = True
        elif dataset_id in hidden:
            data = {"type": "DATASET_FIELD", "restricted": True, "depth": depth}
        else:
            data = {
                "type": "DATASET_FIELD",
                "namespace": dataset.namespace,
                "dataset": dataset.name,
                "dataset_id": str(dataset.pk),
                "field": field,
                "field_type": field_type(dataset, field),
                "input_fields": inputs.get((dataset_id, field), []),
                "depth": depth,
            }
        graph.node(node_id(dataset_id, field), "DATASET_FIELD", data)
    return graph.render()


def _marquez_input(row: ColumnLineage, datasets: dict[UUID, Dataset], hidden: set[UUID]) -> dict[str, Any]:
    """An input field as Marquez's `inputFields` lists it; of a hidden dataset, nothing of it."""
    if row.input_dataset_id in hidden:
        return {
            "namespace": marquez_shapes.RESTRICTED_NAMESPACE,
            "dataset": "",
            "datasetVersion": None,
            "field": "",
            "transformationDescription": None,
            "transformationType": None,
            "restricted": True,
        }
    dataset = datasets[row.input_dataset_id]
    first = next((item for item in row.transformations if isinstance(item, dict)), {})
    return {
        "namespace": dataset.namespace,
        "dataset": dataset.name,
        "datasetVersion": None,
        "field": row.input_field,
        "transformationDescription": row.transformation_description or first.get("description") or None,
        "transformationType": row.transformation_type or first.get("type") or None,
    }
