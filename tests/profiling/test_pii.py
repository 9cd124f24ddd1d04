"""Which string values look like personal data, the share per column, and masking for display."""

import pyarrow as pa
import pytest

from profiler.pii import (
    PII_KINDS,
    PiiScan,
    aliased_paths,
    class_aliases,
    coarsening_step,
    mask,
    masked_drift,
    masked_quality,
    masked_sample,
    masked_statistics,
    scan_values,
)


def kinds_of(value: str) -> list[str]:
    matches = scan_values([value]).matches
    return [kind for kind in PII_KINDS if matches[kind]]


@pytest.mark.parametrize(
    "value",
    [
        "jane.doe@example.org",
        "jane+newsletter@example.org",
        "j.o.h.n_d-o-e@mail.eu.example.co.uk",
        "  jane@example.org\n",
        "JANE@EXAMPLE.ORG",
    ],
)
def test_it_detects_emails(value):
    assert kinds_of(value) == ["email"]


@pytest.mark.parametrize(
    "value",
    ["jane@localhost", "jane@example.c", "jane.@example.org", "@example.org", "jane@@example.org", "jane@-x.org"],
)
def test_it_rejects_malformed_emails(value):
    assert kinds_of(value) == []


def test_it_rejects_free_text_mentioning_emails():
    reviews = [
        "Great product, contact me at jane@example.org",
        "jane@example.org was very helpful",
        "Ask bob@example.com or alice@example.com",
    ]

    assert scan_values(reviews).matches["email"] == 0


@pytest.mark.parametrize(
    "value",
    [
        "+1 415-555-2671",
        "+14155552671",
        "+44 (0)20 7946 0958",
        "+33 6 12 34 56 78",
        "(555) 123-4567",
        "555-123-4567",
        "555.123.4567",
        "1-800-555-1234",
        "020 7946 0958",
        "06 12 34 56 78",
        "06.12.34.56.78",
    ],
)
def test_it_detects_phones(value):
    assert kinds_of(value) == ["phone"]


@pytest.mark.parametrize(
    "value",
    [
        "12345678",
        "4155552671",
        "2024-01-05",
        "05.01.2024",
        "05/01/2024",
        "2024-01-05 12:30:00",
        "2024-01-05T12:30:00Z",
        "12:30:00",
        "1234567.89",
        "+1234567.89",
        "-1234567.89",
        "1 234 567",
        "12345",
        "12345-6789",
        "+12345",
        "555-1234-5678-9012-34",
        "978-3-16-148410-0",
    ],
)
def test_it_rejects_numbers_dates_and_codes_as_phones(value):
    assert "phone" not in kinds_of(value)


@pytest.mark.parametrize(
    "value",
    [
        "192.168.0.1",
        "100.64.0.0",
        "255.255.255.255",
        "1.2.3.4",
        "::1",
        "::",
        "fe80::1",
        "2001:db8::ff00:42:8329",
        "2001:0DB8:85A3:0000:0000:8A2E:0370:7334",
        "::ffff:192.0.2.128",
    ],
)
def test_it_detects_ip_addresses(value):
    assert kinds_of(value) == ["ip_address"]


@pytest.mark.parametrize(
    "value",
    [
        "999.1.1.1",
        "256.0.0.1",
        "01.2.3.4",
        "1.2.3",
        "1.2.3.4.5",
        "v1.2.3.4",
        "1:2:3:4:5:6:7:8:9",
        "1::2::3",
        "12:30:00",
    ],
)
def test_it_rejects_malformed_ip_addresses(value):
    assert kinds_of(value) == []


@pytest.mark.parametrize(
    "value",
    [
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "4111111111111111",
        "5555555555554444",
        "378282246310005",
        "6011111111111117",
        "4222222222222",
    ],
)
def test_it_detects_card_numbers(value):
    assert kinds_of(value) == ["card_number"]


@pytest.mark.parametrize(
    "value",
    ["4111111111111112", "4111 1111 1111 1112", "1234567812345670", "411111111111", "0000000000000000"],
)
def test_it_rejects_non_luhn_and_non_card_numbers(value):
    assert "card_number" not in kinds_of(value)


def test_it_rejects_sixteen_digit_numbers_that_fail_luhn():
    numbers = [str(4 * 10**15 + i * 48_271_000_003) for i in range(500)]
    failing = [number for number in numbers if not _luhn(number)]

    assert scan_values(failing).matches["card_number"] == 0


def test_it_counts_the_share_of_each_kind():
    values = ["jane@example.org", "bob@example.org", "hello", "555-123-4567"]

    scan = scan_values(values)

    assert scan == PiiScan(sampled=4, matches={"email": 2, "phone": 1, "ip_address": 0, "card_number": 0})
    assert scan.shares() == {"email": 0.5, "phone": 0.25, "ip_address": 0.0, "card_number": 0.0}


def test_it_suspects_kinds_whose_share_reaches_the_threshold():
    scan = PiiScan(sampled=10, matches={"email": 3, "phone": 5, "ip_address": 1, "card_number": 0})

    assert scan.suspected() == ["email", "phone"]
    assert scan.suspected(threshold=0.31) == ["phone"]
    assert scan.suspected(threshold=0.1) == ["email", "ip_address", "phone"]
    assert scan.suspected(threshold=1.0) == []


@pytest.mark.parametrize("threshold", [0, -0.1, 1.5])
def test_it_rejects_a_threshold_outside_the_unit_interval(threshold):
    with pytest.raises(ValueError, match="threshold"):
        PiiScan(sampled=1, matches=dict.fromkeys(PII_KINDS, 0)).suspected(threshold)


def test_it_handles_an_empty_sample():
    scan = scan_values([])

    assert scan == PiiScan(sampled=0, matches=dict.fromkeys(PII_KINDS, 0))
    assert scan.shares() == dict.fromkeys(PII_KINDS, 0.0)
    assert scan.suspected() == []


def test_it_skips_none_values():
    scan = scan_values([None, "jane@example.org", None, "hello"])

    assert scan.sampled == 2
    assert scan.shares()["email"] == 0.5


def test_it_scans_arrow_arrays_of_every_string_type():
    values = ["jane@example.org", None, "192.168.0.1", "4111111111111111"]
    expected = PiiScan(sampled=3, matches={"email": 1, "phone": 0, "ip_address": 1, "card_number": 1})

    for array in (
        pa.array(values, type=pa.string()),
        pa.array(values, type=pa.large_string()),
        pa.array(values, type=pa.string_view()),
        pa.chunked_array([values[:2], values[2:]], type=pa.string()),
    ):
        assert scan_values(array) == expected


def test_it_rejects_non_string_input():
    with pytest.raises(TypeError):
        scan_values(pa.array([1, 2, 3]))
    with pytest.raises(TypeError):
        scan_values("jane@example.org")


def test_it_scans_ten_thousand_values():
    def value(i: int) -> str:
        return [
            f"user{i}@example.org",
            f"555-{i % 1000:03d}-{i:04d}",
            f"10.0.{i % 256}.{i % 200}",
            f"order-{i}",
            str(10**15 + i * 99_991_234_567),
        ][i % 5]

    values = [value(i) for i in range(10_000)]

    scan = scan_values(pa.array(values))

    assert scan.sampled == 10_000
    assert scan.matches["email"] == scan.matches["phone"] == scan.matches["ip_address"] == 2_000
    assert scan.matches["card_number"] < 200
    assert scan.suspected() == []


def test_it_masks_emails():
    masked = mask("jane.doe+news@mail.example.org", ["email"])

    assert masked == "j***@m***.org"
    assert "jane.doe" not in masked
    assert "example" not in masked


def test_it_masks_phones_and_cards_keeping_the_last_two_digits():
    phone = mask("+1 415-555-2642", ["phone"])
    card = mask("4111 1111 1111 1111", ["card_number"])

    assert phone == "***-**42"
    assert card == "***-**11"
    assert "415" not in phone
    assert "4111" not in card


def test_it_masks_ip_addresses():
    assert mask("192.168.0.12", ["ip_address"]) == "***.***.***.12"
    assert mask("2001:db8::ff00:42:8329", ["ip_address"]) == "***"


def test_it_masks_a_value_by_the_first_kind_it_looks_like():
    assert mask("jane@example.org", ["phone", "email"]) == "j***@e***.org"
    assert mask("not personal", ["email", "phone"]) == "***"
    assert mask("jane@example.org", []) == "***"


@pytest.mark.parametrize(
    "value", ["jane@example.org", "555-123-4567", "10.1.2.3", "::1", "4111111111111111", "plain text", ""]
)
def test_it_never_returns_the_value_it_masks(value):
    assert mask(value, PII_KINDS) != value


def test_it_rejects_unknown_kinds_to_mask():
    with pytest.raises(ValueError, match="ssn"):
        mask("123-45-6789", ["ssn"])


def _luhn(number: str) -> bool:
    digits = [int(char) for char in reversed(number)]
    return sum(digits[0::2] + [sum(divmod(digit * 2, 10)) for digit in digits[1::2]]) % 10 == 0


# --- Masking for readers who may not see personal data ------------------------------------------------

AGES = {
    "count": 60,
    "null_count": 0,
    "min": 19.0,
    "max": 87.0,
    "mean": 51.23,
    "std": 17.8,
    "quantiles": {"p1": 19.0, "p5": 22.0, "p25": 37.0, "p50": 51.0, "p75": 66.0, "p95": 83.0, "p99": 87.0},
    "histogram": {"kind": "equal_width", "edges": [19.0, 53.0, 87.0], "counts": [31, 29]},
    "outliers": {"count": 0, "lower_fence": -6.5, "upper_fence": 110.5},
    "top_values": [{"value": 51.0, "count": 3}],
    "pii_kinds": [],
}


def test_it_gives_numeric_personal_data_no_min_or_max_and_coarse_quantiles():
    masked = masked_statistics(AGES)

    assert coarsening_step(AGES) == 10.0  # (83 - 22) / 5 = 12.2: tens
    assert masked["min"] is None
    assert masked["max"] is None
    assert masked["quantiles"] == {"p1": 20, "p5": 20, "p25": 40, "p50": 50, "p75": 70, "p95": 80, "p99": 90}
    assert masked["mean"] == 50
    assert masked["std"] == 20
    assert masked["histogram"]["edges"] == [20, 50, 90]
    assert masked["histogram"]["counts"] == [31, 29]
    assert masked["outliers"] == {"count": 0}
    assert masked["top_values"] == [{"value": "***", "count": 3}]
    assert masked["count"] == 60


@pytest.mark.parametrize(
    ("p5", "p50", "p95", "step"),
    [(20_000, 48_000, 200_000, 10_000), (0.1, 0.5, 0.9, 0.1), (7, 7, 7, 1), (0, 0, 0, 1), (1200, 1200, 1200, 1000)],
)
def test_it_coarsens_to_a_power_of_ten_below_a_fifth_of_the_spread(p5, p50, p95, step):
    assert coarsening_step({"quantiles": {"p5": p5, "p50": p50, "p95": p95}}) == step


def test_it_masks_dates_of_personal_data_rather_than_rounding_them():
    dates = {
        "min": "1950-01-02T00:00:00+00:00",
        "max": "2001-09-09T00:00:00+00:00",
        "quantiles": {"p50": "1977-03-04T00:00:00+00:00"},
        "histogram": {"kind": "equal_width", "edges": ["1950-01-02", "2001-09-09"], "counts": [5]},
        "top_values": [],
    }

    masked = masked_statistics(dates)

    assert not [year for year in ("1950", "2001", "1977") if year in str(masked)]


def test_it_masks_a_column_a_person_marked_whole_and_keeps_a_hint_of_a_detected_one():
    sample = {
        "columns": ["email", "diagnosis", "n"],
        "rows": [{"row": "a.csv:1", "values": {"email": "ada@example.org", "diagnosis": "asthma", "n": 3}}],
    }

    masked = masked_sample(sample, {"email": ["email"], "diagnosis": []}, shown=False)
    shown = masked_sample(sample, {"email": ["email"], "diagnosis": []}, shown=True)

    assert masked["rows"][0]["values"] == {"email": "a***@e***.org", "diagnosis": "***", "n": 3}
    assert masked["masked"] is True
    assert masked["pii_columns"] == ["diagnosis", "email"]
    assert shown["rows"][0]["values"]["diagnosis"] == "asthma"
    assert shown["masked"] is False


def test_it_names_the_classes_of_a_personal_data_label_by_rank_with_their_counts():
    quality = {
        "label_column": "patient",
        "class_counts": {"Jane Roe": 40, "John Doe": 15, "Ada Byron": 5},
        "findings": [
            {
                "severity": "warning",
                "code": "class_imbalance",
                "feature": "patient",
                "message": "label 'Ada Byron' has 8.33% of rows; the largest class is 8 times as frequent.",
            },
            {"severity": "warning", "code": "feature_drift", "feature": "patient", "message": "'patient' drifted"},
            {"severity": "warning", "code": "label_drift", "feature": "patient", "message": "classes gone: 'Al'"},
            {"severity": "warning", "code": "feature_drift", "feature": "n", "message": "'n' drifted"},
        ],
        "drift": {"drifted_features": ["patient", "n"], "label_drifted": True},
    }

    masked = masked_quality(quality, {"patient"})

    assert masked["class_counts"] == {"class 1": 40, "class 2": 15, "class 3": 5}
    assert [finding["code"] for finding in masked["findings"]] == ["class_imbalance", "feature_drift"]
    assert "'class 3'" in masked["findings"][0]["message"]
    assert masked["drift"] == {"drifted_features": ["n"], "label_drifted": False}
    assert not [name for name in ("Byron", "Roe", "'Al'") if name in str(masked)]


def test_it_does_not_order_classes_of_equal_count_by_their_names():
    orders = {tuple(class_aliases({f"{name}-{index}": 1 for name in "abcdef"}).values()) for index in range(3)}
    names = [list(class_aliases({f"{name}-{index}": 1 for name in "abcdef"})) for index in range(6)]

    assert orders == {("class 1", "class 2", "class 3", "class 4", "class 5", "class 6")}
    assert any(ranked != sorted(ranked) for ranked in names)


def test_it_leaves_the_withheld_features_out_of_a_stored_drift_report():
    result = {
        "schema": {"added": [{"name": "ssn"}], "removed": [], "changed": [], "renamed": [{"from": "dx", "to": "n2"}]},
        "features": [{"name": "diagnosis"}, {"name": "n"}],
        "drifted_features": ["diagnosis", "n"],
        "label": {"column": "diagnosis", "against_column": "diagnosis", "shares": {"asthma": 0.5}},
    }

    masked = masked_drift(result, {"diagnosis", "ssn", "dx"})

    assert masked["features"] == [{"name": "n"}]
    assert masked["drifted_features"] == ["n"]
    assert masked["label"] is None
    assert masked["schema"] == {"added": [], "removed": [], "changed": [], "renamed": []}
    assert masked["masked_features"] == ["diagnosis", "dx", "ssn"]


def test_it_names_class_folders_in_paths_by_their_alias_and_leaves_the_rest():
    aliases = {"cat": "class 1", "Jane Roe": "class 2"}

    shown = aliased_paths(
        ["train/cat/000.png", "Jane Roe/1.jpg", "x/concat/1.png", "e.g. test/cat/0.png and ('Jane Roe/2.jpg')", "cat"],
        aliases,
    )

    assert shown == [
        "train/class 1/000.png",
        "class 2/1.jpg",
        "x/concat/1.png",
        "e.g. test/class 1/0.png and ('class 2/2.jpg')",
        "cat",
    ]
    assert aliased_paths({"files": ["cat/1.png"], "count": 3}, aliases) == {"files": ["class 1/1.png"], "count": 3}
