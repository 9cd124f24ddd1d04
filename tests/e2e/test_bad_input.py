"""The bad-input corpus through the real workers: every file, generated here, ends `ready` with a
correct profile or `failed` with a reason a person can act on, within the time limit; no worker
hangs or dies, and the next registration is profiled as usual. And bad requests sent to gunicorn:
mistyped paths, fields and parameters answer problem documents naming the mistake, quickly."""

import gzip
import json
import time
import uuid

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.hostile import deep
from tests.profiling.media_folders import image_folder

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BOMB_LINE = b"1,2.5,hello,world,0\n"


def _corpus(root):
    root.mkdir(parents=True, exist_ok=True)
    (root / "ragged.csv").write_text("a,b,c\n1,2,3\n4,5\n6,7,8,9\n")
    (root / "bom.csv").write_bytes("\ufeffname,value\nx,1\ny,2\n".encode())
    (root / "mixed-encodings.csv").write_bytes(
        "name,city\nJosé,Zürich\n".encode() + "Renée,Köln\n".encode("latin-1") + b"Bob,Oslo\n"
    )
    (root / "quoted-newlines.csv").write_text('id,text\n1,"hello\nworld"\n2,plain\n')
    (root / "empty.csv").write_text("")
    (root / "header-only.csv").write_text("a,b,c\n")
    (root / "one-long-line.csv").write_text("a,b\n" + "x" * 50_000_000 + ",1\ny,2\n")
    columns = 10_000
    (root / "wide.csv").write_text(
        ",".join(f"c{i}" for i in range(columns)) + "\n" + ",".join("1" for _ in range(columns)) + "\n"
    )
    with gzip.open(root / "bomb.csv.gz", "wb", compresslevel=9) as handle:
        handle.write(b"a,b,c,d,label\n")
        for _ in range(128):  # 128 MiB of one line repeated, from a few hundred kilobytes
            handle.write(BOMB_LINE * (1024 * 1024 // len(BOMB_LINE)))
    pq.write_table(
        pa.table(
            {
                "nested": pa.array([{"x": 1, "y": [1, 2]}, {"x": 2, "y": []}, None]),
                "attributes": pa.array([[("k", 1)], [], None], type=pa.map_(pa.string(), pa.int64())),
                "price": pa.array([1, None, 3], type=pa.decimal128(10, 2)),
                "seen": pa.array([1, 2, None], type=pa.timestamp("ns", tz="Europe/Berlin")),
            }
        ),
        root / "nested.parquet",
    )
    (root / "broken.jsonl").write_text(json.dumps({"a": 1}) + "\n{not json\n")
    image_folder(root / "pets-with-a-broken-file")
    return root


EXPECTED = {
    "ragged.csv": ("failed", "line 4"),
    "bom.csv": ("ready", None),
    "mixed-encodings.csv": ("ready", None),
    "quoted-newlines.csv": ("ready", None),
    "empty.csv": ("failed", "is empty"),
    "header-only.csv": ("failed", "no data rows"),
    "one-long-line.csv": ("failed", "line size"),
    "wide.csv": ("failed", "10,000 columns"),
    "bomb.csv.gz": ("ready", None),
    "nested.parquet": ("ready", None),
    "broken.jsonl": ("failed", "line 2"),
    "pets-with-a-broken-file": ("ready", None),
}


def test_every_bad_file_ends_ready_or_failed_with_its_reason_and_the_workers_live_on(
    api, e2e_storage_root, celery_workers
):
    root = _corpus(e2e_storage_root / "bad-input")
    registered = {
        name: api.register(f"bad-{index}", {"uri": str(root / name)})["latest_version"]["id"]
        for index, name in enumerate(EXPECTED)
    }
    outcomes = {name: api.wait(version, timeout=240) for name, version in registered.items()}

    for name, (status, reason) in EXPECTED.items():
        version = outcomes[name]
        assert version["status"] == status, (name, version["error"])
        if reason is not None:
            assert reason in version["error"], (name, version["error"])
    bomb = outcomes["bomb.csv.gz"]
    rows = 128 * (1024 * 1024 // len(BOMB_LINE))
    assert bomb["row_count"] == rows
    assert bomb["quality"]["duplicate_rows"] == rows - 1
    assert {feature["name"] for feature in outcomes["bom.csv"]["features"]} == {"name", "value"}
    pets = outcomes["pets-with-a-broken-file"]
    assert pets["quality"]["unreadable"]["examples"][0][0] == "train/cat/broken.png"

    assert all(process.poll() is None for process in celery_workers.processes), "a worker died"
    (root / "after.csv").write_text("x,label\n1,a\n2,b\n")
    after = api.wait(api.register("bad-after", {"uri": str(root / "after.csv")})["latest_version"]["id"])
    assert after["status"] == "ready"


PROBLEM = "application/problem+json"


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == PROBLEM
    return response.json()


def test_mistyped_requests_answer_problem_documents_naming_the_mistake(people):
    owner, name = people.owner, f"http-{uuid.uuid4().hex[:8]}"

    no_slash = owner.post("/api/v1/datasets", {"namespace": "http", "name": name}, allow_redirects=False)
    licence = owner.post("/api/v1/datasets", {"namespace": "http", "name": f"{name}-2", "licence": "MIT"})
    typo = owner.post("/api/v1/datasetz/", {"namespace": "http", "name": name})
    malformed = owner.get("/api/v1/datasets/3f0c.../")
    method = owner.request("PUT", f"/api/v1/datasets/{no_slash.json()['id']}", json={"name": "x"})
    parameter = owner.get("/api/v1/datasets", tagg="tabular")

    assert no_slash.status_code == 201, no_slash.text
    assert _problem(licence, 400)["errors"] == {"licence": ["Unknown field; did you mean 'license'?"]}
    assert _problem(typo, 404)["detail"] == "There is nothing at /api/v1/datasetz/."
    assert "'3f0c...' is not an id" in _problem(malformed, 404)["detail"]
    assert _problem(method, 405)["type"] == "urn:catalog:problem:method_not_allowed"
    assert _problem(parameter, 400)["errors"] == {"tagg": ["Unknown query parameter; did you mean 'tag'?"]}
    assert owner.get("/api/v1/datasets", owner=owner.user.username).json()["count"] == 1


def test_hostile_bodies_answer_a_4xx_quickly(people):
    owner = people.owner
    many = json.dumps({"namespace": "http", "name": "many", **{f"k{index}": index for index in range(100_000)}})
    nul = json.dumps({"namespace": "http", "name": "nul", "lic\u0000ence": "MIT"})
    json_headers = {"Content-Type": "application/json"}

    answers = []
    for body in (many, nul, deep(100_000), json.dumps({"namespace": "http", "name": "long", "k" * 1_000_000: 1})):
        started = time.monotonic()
        response = owner.request("POST", "/api/v1/datasets", data=body, headers=json_headers)
        answers.append((response, time.monotonic() - started))

    for response, elapsed in answers:
        assert _problem(response, 400)
        assert elapsed < 3, (response.text[:200], elapsed)
    assert len(answers[0][0].json()["errors"]) == 21
    assert "NUL" in answers[1][0].json()["errors"]["lic\\x00ence"][0]
    assert len(answers[3][0].content) < 1_000
    assert owner.get("/api/v1/datasets", owner=owner.user.username).json()["count"] == 0


def test_a_stranger_learns_no_field_of_a_dataset_they_may_not_change(people):
    created = people.owner.post("/api/v1/datasets/", {"namespace": "http", "name": f"kept-{uuid.uuid4().hex[:8]}"})
    path = f"/api/v1/datasets/{created.json()['id']}"

    refused = people.other.patch(path, {"licence": "MIT", "description": "mine"})

    assert _problem(refused, 403).get("errors") is None
    assert people.owner.get(path).json()["description"] == ""
