"""Reads of the lineage graph: what identities and node ids name, what a user may see, the walks, and
what a graph of a walk shows. Callers import from here (`from lineage import selectors`)."""

from lineage.selectors.graphs import ColumnWalkGraph, WalkGraph, column_walk_graph_read, walk_graph_read
from lineage.selectors.identities import (
    MAX_NODE_ID_COLONS,
    MAX_NODE_ID_LENGTH,
    Identity,
    NodeIdInvalid,
    datasets_resolve,
    location_uris,
    node_id_candidates,
    node_id_resolve,
)
from lineage.selectors.visibility import (
    datasets_hidden_from,
    jobs_hidden_from,
    jobs_touching_hidden,
    jobs_visible_to,
    runs_hidden_from,
    runs_visible_to,
)
from lineage.selectors.walks import (
    BOTH,
    DIRECTIONS,
    DOWNSTREAM,
    UPSTREAM,
    ColumnEdge,
    ColumnWalk,
    Edge,
    Walk,
    column_lineage_walk,
    lineage_upstream,
    lineage_walk,
    walk_sql,
)

__all__ = [
    "BOTH",
    "DIRECTIONS",
    "DOWNSTREAM",
    "MAX_NODE_ID_COLONS",
    "MAX_NODE_ID_LENGTH",
    "UPSTREAM",
    "ColumnEdge",
    "ColumnWalk",
    "ColumnWalkGraph",
    "Edge",
    "Identity",
    "NodeIdInvalid",
    "Walk",
    "WalkGraph",
    "column_lineage_walk",
    "column_walk_graph_read",
    "datasets_hidden_from",
    "datasets_resolve",
    "jobs_hidden_from",
    "jobs_touching_hidden",
    "jobs_visible_to",
    "lineage_upstream",
    "lineage_walk",
    "location_uris",
    "node_id_candidates",
    "node_id_resolve",
    "runs_hidden_from",
    "runs_visible_to",
    "walk_graph_read",
    "walk_sql",
]
