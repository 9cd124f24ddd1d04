"""GET /api/v1/versions/{id}/files/{path}: one file of a version, as registered, to those who may read it."""

import base64
import csv
import gzip
import io

import pytest

from catalog.downloads import table_dialect
from catalog.models import Dataset
from governance.choices import OwnershipRole, Sensitivity
from profiler.readers import WHITESPACE
from tests.factories import OwnershipFactory, token_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def registered(owner_client, django_capture_on_commit_callbacks):
    def register(path, name: str = "flowers") -> Dataset:
        with django_capture_on_commit_callbacks(execute=True):
            response = owner_client.post(
                "/api/v1/datasets/",
                {"namespace": "garden", "name": name, "source": {"uri": str(path), "label_column": "species"}},
                format="json",
            )
        assert response.status_code == 201, response.content
        dataset = Dataset.objects.get(pk=response.json()["id"])
        assert dataset.latest_version.status == "ready", dataset.latest_version.error
        return dataset

    return register


def _url(dataset: Dataset, path: str) -> str:
    return f"/api/v1/versions/{dataset.latest_version_id}/files/{path}"


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_it_serves_the_registered_bytes_of_a_file(owner_client, registered, iris_csv):
    flowers = registered(iris_csv)

    response = owner_client.get(_url(flowers, "train.csv"))

    assert response.status_code == 200
    assert _body(response) == iris_csv.read_bytes()
    assert response["Content-Length"] == str(iris_csv.stat().st_size)
    assert response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"].startswith("attachment;")


def test_it_serves_a_file_of_a_folder_by_its_path_in_the_manifest(owner_client, registered, storage_root):
    folder = storage_root / "garden"
    (folder / "val").mkdir(parents=True)
    for path in (folder / "train.csv", folder / "val" / "val.csv"):
        path.write_text("petal,species\n1.5,setosa\n4.2,versicolor\n")
    flowers = registered(folder)

    response = owner_client.get(_url(flowers, "val/val.csv"))

    assert response.status_code == 200
    assert _body(response) == (folder / "val" / "val.csv").read_bytes()


def test_it_reads_a_file_for_a_stranger_as_the_version_is_readable(stranger_client, registered, iris_csv):
    flowers = registered(iris_csv)

    assert stranger_client.get(_url(flowers, "train.csv")).status_code == 200


def test_it_hides_a_restricted_dataset_s_files_from_strangers(owner_client, stranger_client, registered, iris_csv):
    flowers = registered(iris_csv)
    Dataset.objects.filter(pk=flowers.pk).update(sensitivity=Sensitivity.RESTRICTED)

    refused = stranger_client.get(_url(flowers, "train.csv"))

    assert refused.status_code == 404
    assert b"setosa" not in refused.content
    assert owner_client.get(_url(flowers, "train.csv")).status_code == 200


def test_it_refuses_the_unmasked_bytes_of_personal_data_to_those_who_may_not_see_them(
    owner_client, stranger_client, steward, client_for, registered, iris_csv
):
    flowers = registered(iris_csv)
    OwnershipFactory(dataset=flowers, user=steward, role=OwnershipRole.STEWARD)
    species = flowers.latest_version.features.get(name="species")
    decided = owner_client.patch(
        f"/api/v1/versions/{flowers.latest_version_id}/features/{species.position}/", {"pii": True}
    )
    assert decided.status_code == 200

    refused = stranger_client.get(_url(flowers, "train.csv"))

    assert refused.status_code == 403
    assert "personal-data" in refused.json()["detail"]
    assert b"setosa" not in refused.content
    assert stranger_client.get(_url(flowers, "train.csv") + "?as=csv").status_code == 403
    assert _body(client_for(steward).get(_url(flowers, "train.csv"))) == iris_csv.read_bytes()


def test_it_refuses_bytes_that_are_no_longer_the_manifest_s(owner_client, registered, iris_csv):
    flowers = registered(iris_csv)
    iris_csv.write_text(iris_csv.read_text().replace("setosa", "setosb"))

    response = owner_client.get(_url(flowers, "train.csv"))

    assert response.status_code == 409
    assert response.json()["type"].endswith("source_changed")
    assert "sha256" in response.json()["detail"]


def test_it_refuses_a_file_swapped_for_a_link_out_of_the_storage_root(owner_client, registered, iris_csv, tmp_path):
    flowers = registered(iris_csv)
    outside = tmp_path / "secret.csv"
    outside.write_bytes(iris_csv.read_bytes())
    iris_csv.unlink()
    iris_csv.symlink_to(outside)

    response = owner_client.get(_url(flowers, "train.csv"))

    assert response.status_code == 409
    assert response.json()["type"].endswith("source_changed")


@pytest.mark.parametrize("path", ["nothing.csv", "../flowers/train.csv", "%2e%2e/train.csv", "train.csv/.."])
def test_it_serves_only_paths_of_the_manifest(owner_client, registered, iris_csv, path):
    flowers = registered(iris_csv)

    response = owner_client.get(_url(flowers, path))

    assert response.status_code == 404


def test_it_re_writes_a_semicolon_separated_gzipped_table_as_csv(owner_client, registered, storage_root):
    path = storage_root / "flowers.csv.gz"
    rows = [["petal", "species"], ["1,5", "setosa"], ["4,2", "versi;color"], ["6,1", "virginica"]] * 5
    text = io.StringIO()
    csv.writer(text, delimiter=";").writerows([rows[0], *[row for row in rows if row[0] != "petal"]])
    path.write_bytes(gzip.compress(text.getvalue().encode()))
    flowers = registered(path)

    response = owner_client.get(_url(flowers, "flowers.csv.gz") + "?as=csv")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    read = list(csv.reader(io.StringIO(_body(response).decode())))
    assert read[0] == ["petal", "species"]
    assert read[1:4] == [["1,5", "setosa"], ["4,2", "versi;color"], ["6,1", "virginica"]]
    assert len(read) == 1 + 15


def test_it_takes_an_api_token_as_a_basic_password_and_nothing_less(anonymous_client, owner, registered, iris_csv):
    flowers = registered(iris_csv)
    basic = base64.b64encode(f"anyone:{token_for(owner)}".encode()).decode()
    wrong = base64.b64encode(b"anyone:not-a-token").decode()

    assert anonymous_client.get(_url(flowers, "train.csv")).status_code == 401
    anonymous_client.credentials(HTTP_AUTHORIZATION=f"Basic {wrong}")
    assert anonymous_client.get(_url(flowers, "train.csv")).status_code == 401
    anonymous_client.credentials(HTTP_AUTHORIZATION=f"Basic {basic}")
    assert _body(anonymous_client.get(_url(flowers, "train.csv"))) == iris_csv.read_bytes()


def test_basic_credentials_open_no_other_endpoint(anonymous_client, owner, registered, iris_csv):
    flowers = registered(iris_csv)
    basic = base64.b64encode(f"anyone:{token_for(owner)}".encode()).decode()
    anonymous_client.credentials(HTTP_AUTHORIZATION=f"Basic {basic}")

    assert anonymous_client.get(f"/api/v1/datasets/{flowers.pk}/").status_code == 401


@pytest.mark.parametrize(
    ("head", "path", "names", "options", "expected"),
    [
        (b"a,b\n1,2\n", "x.csv", ["a", "b"], None, (",", True, "utf-8", "text/csv")),
        (b"a\tb\n1\t2\n", "x.csv", ["a", "b"], None, ("\t", True, "utf-8", "text/tab-separated-values")),
        (b"a;b\n1,5;2\n", "x.csv", ["a", "b"], None, (";", True, "utf-8", None)),
        (b"1,2\n3,4\n", "x.csv", ["column0", "column1"], None, (",", False, "utf-8", None)),
        (b"\xef\xbb\xbfa,b\n1,2\n", "x.csv", ["a", "b"], None, (",", True, "utf-8-sig", "text/csv")),
        ("nom,ville\nZoé,Orléans\n".encode("cp1252"), "x.csv", ["nom", "ville"], None, (",", True, "cp1252", None)),
        (b"  a   b\n  1   2\n", "x.txt.csv", ["a", "b"], None, (WHITESPACE, True, "utf-8", None)),
        (b"a  b \t\n\n 1\t2  \n", "x.txt", ["a", "b"], {"delimiter": WHITESPACE}, (WHITESPACE, True, "utf-8", None)),
        (b",a,a\n1,2,3\n", "x.csv", ["column0", "a", "a_1"], {"header": True}, (",", True, "utf-8", None)),
        (b"a|b\n1|2\n", "x.csv", ["a", "b"], {"delimiter": "|", "header": True}, ("|", True, "utf-8", None)),
        (b"a,b\n1,2\n", "x.csv", ["a", "b"], {"header": False}, (",", False, "utf-8", None)),
        (b"a,b\n1,?\n", "x.csv", ["a", "b"], {"null_values": ["?"]}, (",", True, "utf-8", None)),
        (
            b"a,b\n1,NA\n",
            "x.csv",
            ["a", "b"],
            {"null_values": ["NA"], "encoding": "nonsense"},
            (",", True, "utf-8", "text/csv"),
        ),
    ],
)
def test_it_tells_how_a_table_is_written_from_its_first_row_and_the_read_options(head, path, names, options, expected):
    dialect = table_dialect(head, path=path, names=names, read_options=options)

    assert (dialect.delimiter, dialect.header, dialect.encoding, dialect.croissant_format) == expected


def test_it_says_nothing_of_a_table_no_delimiter_fits():
    assert table_dialect(b"a,b,c\n1,2,3\n", path="x.csv", names=["a", "b"], read_options=None) is None


def test_it_answers_head_with_the_size_and_refuses_an_unknown_rendition(owner_client, registered, iris_csv):
    flowers = registered(iris_csv)

    head = owner_client.head(_url(flowers, "train.csv"))
    unknown = owner_client.get(_url(flowers, "train.csv") + "?as=parquet")

    assert head.status_code == 200
    assert head["Content-Length"] == str(iris_csv.stat().st_size)
    assert unknown.status_code == 400
    assert "as" in unknown.json()["errors"]


def _register_as(client, capture, path, format: str, name: str) -> Dataset:
    with capture(execute=True):
        response = client.post(
            "/api/v1/datasets/",
            {"namespace": "garden", "name": name, "source": {"uri": str(path), "format": format}},
            format="json",
        )
    assert response.status_code == 201, response.content
    dataset = Dataset.objects.get(pk=response.json()["id"])
    assert dataset.latest_version.status == "ready", dataset.latest_version.error
    return dataset


def test_it_re_writes_a_txt_table_separated_by_runs_of_spaces_as_the_profiler_split_it(
    owner_client, stranger_client, storage_root, django_capture_on_commit_callbacks
):
    # As statsmodels ships its data files: headers in single quotes, columns aligned with spaces.
    path = storage_root / "spector.txt"
    path.write_text("  'GPA'   'TUCE'  'PSI'  \n  2.66   20    0  \n\n  3.10   22    1\n")
    grades = _register_as(owner_client, django_capture_on_commit_callbacks, path, "csv", "grades")
    assert grades.latest_version.profile["dialect"]["delimiter"] == WHITESPACE

    response = owner_client.get(_url(grades, "spector.txt") + "?as=csv")

    assert response.status_code == 200
    assert response["Content-Disposition"].endswith("spector.csv")
    assert list(csv.reader(io.StringIO(_body(response).decode()))) == [
        ["GPA", "TUCE", "PSI"],
        ["2.66", "20", "0"],
        ["3.10", "22", "1"],
    ]
    Dataset.objects.filter(pk=grades.pk).update(sensitivity=Sensitivity.RESTRICTED)
    refused = stranger_client.get(_url(grades, "spector.txt") + "?as=csv")
    assert refused.status_code == 404
    assert b"2.66" not in refused.content


def test_it_refuses_a_csv_copy_of_a_text_document(owner_client, storage_root, django_capture_on_commit_callbacks):
    folder = storage_root / "notes"
    folder.mkdir()
    (folder / "a.txt").write_text("a   b\n1   2\n")
    (folder / "b.txt").write_text("Some words, and more words.\n")
    notes = _register_as(owner_client, django_capture_on_commit_callbacks, folder, "text", "notes")

    response = owner_client.get(_url(notes, "a.txt") + "?as=csv")

    assert response.status_code == 400
    assert "as" in response.json()["errors"]
