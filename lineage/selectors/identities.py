"""The catalog datasets that OpenLineage identities and node ids name."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q

from catalog.models import Dataset
from catalog.selectors import datasets_at_locations, datasets_visible_to
from config import errors
from lineage.choices import AliasKind
from lineage.models import DatasetAlias

Identity = tuple[str, str]


def location_uris(identity: Identity) -> list[str]:
    """The source URIs a registered version would carry for this OpenLineage identity (naming spec:
    local files are `file` + absolute path; object stores and web servers are `scheme://authority` + path)."""
    namespace, name = identity
    lowered = namespace.lower().rstrip("/")
    if lowered in ("file", "file:", "file://localhost", "file:/"):
        path = "/" + name.strip("/")
        return ["file://" + quote(path)]
    if lowered.startswith(("s3://", "s3a://", "gs://", "az://", "abfs://")):
        # An object store's dataset named by a key: the object itself, or the prefix of that name.
        location = namespace.rstrip("/") + "/" + name.strip("/")
        return [location, location + "/"]
    if lowered.startswith(("https://", "http://")):
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


# --- Node ids --------------------------------------------------------------------------------------

# Namespaces hold a few colons (`postgres://host:5432`), names and fields now and then one: past this many the
# readings (one per pair of colons for a field) would cost the square of the id, and no real id needs them.
MAX_NODE_ID_COLONS = 16
# Far longer than any namespace, name and field (or a source's location read as a name) a dataset can have.
MAX_NODE_ID_LENGTH = 4096


class NodeIdInvalid(errors.Invalid):
    field = "nodeId"


def node_id_candidates(text: str, *, parts: int) -> list[tuple[str, ...]]:
    """Every way to read `a:b:c` as `parts` pieces: namespaces (`s3://bucket`, `postgres://host:5432`)
    hold colons, so a node id alone is ambiguous; the caller keeps the reading that names a dataset.

    Linear in the id, and the readings are bounded: an id longer than any dataset could have, or with more
    than MAX_NODE_ID_COLONS colons, raises NodeIdInvalid."""
    if len(text) > MAX_NODE_ID_LENGTH:
        raise NodeIdInvalid(f"The node id is longer than {MAX_NODE_ID_LENGTH} characters; no dataset has such a name.")
    if "\x00" in text:
        raise NodeIdInvalid("The node id holds a NUL character; no dataset has such a name.")
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


def node_id_resolve(
    user: User | AnonymousUser, node_id: str, *, prefix: str, parts: int
) -> tuple[Dataset, tuple[str, ...]]:
    """The dataset a node id (`{prefix}:{namespace}:{name}`, then a field when `parts` is 3) names,
    through its identity or an alias, and the reading of the id that named it. A dataset the user may
    not read is not found, as one that does not exist."""
    if not node_id.startswith(prefix + ":"):
        raise NodeIdInvalid(f"nodeId must look like {prefix}:{{namespace}}:{{name}}...")
    readings = node_id_candidates(node_id[len(prefix) + 1 :], parts=parts)
    resolved = datasets_resolve({(reading[0], reading[1]) for reading in readings})
    visible = datasets_visible_to(user)
    matches = [
        (reading, resolved[(reading[0], reading[1])]) for reading in readings if (reading[0], reading[1]) in resolved
    ]
    # A dataset's own identity is a better reading than an alias; then the longest namespace.
    matches.sort(key=lambda item: ((item[1].namespace, item[1].name) != (item[0][0], item[0][1]), -len(item[0][0])))
    if matches and visible.filter(pk=matches[0][1].pk).exists():
        reading, dataset = matches[0]
        return dataset, reading
    raise errors.NotFound(f"No dataset is known as {node_id!r}.")
