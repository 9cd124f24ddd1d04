"""The contract's rules on plain facts: reading a document, checking a profile, inferring a draft."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.rules import (
    CODES,
    ContractInvalid,
    FeatureFacts,
    ProfileFacts,
    contract_anomalies,
    contract_inferred,
    contract_parsed,
    contract_patterns,
    contract_status,
)
from profiler import drift


def numeric(name, low, high, *, count=100, nulls=0, dtype="float64"):
    return FeatureFacts(
        name=name,
        dtype=dtype,
        logical_type="numeric",
        statistics={
            "count": count,
            "null_count": nulls,
            "null_fraction": nulls / (count + nulls) if count + nulls else 0.0,
            "distinct_count": count,
            "distinct_is_approximate": False,
            "min": low,
            "max": high,
        },
    )


def categorical(name, counts, *, nulls=0, other=0):
    total = sum(counts.values()) + other
    return FeatureFacts(
        name=name,
        dtype="string",
        logical_type="categorical",
        statistics={
            "count": total,
            "null_count": nulls,
            "null_fraction": nulls / (total + nulls),
            "distinct_count": len(counts),
            "min": None,
            "max": None,
            "string_length": {"min": min(map(len, counts)), "max": max(map(len, counts)), "mean": 5.0},
        },
        distribution={
            "count": total,
            "nulls": nulls,
            "counts": [[k, v] for k, v in counts.items()],
            "other_count": other,
        },
    )


def facts(*features, rows=100, quality=None, sample=()):
    return ProfileFacts(row_count=rows, features=list(features), quality=quality or {}, sample_rows=list(sample))


def codes(anomalies):
    return sorted(item["code"] for item in anomalies)


# --- Reading ---------------------------------------------------------------------------------------


def test_it_reads_a_contract_into_its_normal_form():
    parsed = contract_parsed({"features": [{"name": "x", "min": 0, "max": 1}], "dataset": {"min_rows": 10}})

    assert parsed["enforcement"] == "warn"
    assert parsed["reference_version"] is None
    assert parsed["features"][0] == {
        "name": "x",
        "logical_type": None,
        "required": False,
        "unique": False,
        "min": 0,
        "max": 1,
        "allowed_values": None,
        "max_outside_share": None,
        "max_null_fraction": None,
        "min_length": None,
        "max_length": None,
        "pattern": None,
        "max_drift": {},
    }
    assert parsed["dataset"]["min_rows"] == 10
    assert contract_parsed(parsed) == parsed  # the normal form reads as itself


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ([], "contract"),
        ({"enforcment": "warn"}, "contract.enforcment"),
        ({"enforcement": "stop"}, "enforcement"),
        ({"reference_version": 0}, "reference_version"),
        ({"reference_version": True}, "reference_version"),
        ({"features": {"name": "x"}}, "features"),
        ({"features": [{"min": 1}]}, "features.0.name"),
        ({"features": [{"name": "x", "colour": 1}]}, "features.0.colour"),
        ({"features": [{"name": "x", "min": 2, "max": 1}]}, "features.0.min"),
        ({"features": [{"name": "x", "min": 0, "max": "9"}]}, "features.0.min"),
        ({"features": [{"name": "x", "min": float("nan")}]}, "features.0.min"),
        ({"features": [{"name": "x", "min": [1]}]}, "features.0.min"),
        ({"features": [{"name": "x", "required": "yes"}]}, "features.0.required"),
        ({"features": [{"name": "x", "max_null_fraction": 1.5}]}, "features.0.max_null_fraction"),
        ({"features": [{"name": "x", "max_null_fraction": -0.1}]}, "features.0.max_null_fraction"),
        ({"features": [{"name": "x", "max_outside_share": 0.1}]}, "features.0.max_outside_share"),
        ({"features": [{"name": "x", "allowed_values": ["a", "a"]}]}, "features.0.allowed_values"),
        ({"features": [{"name": "x", "allowed_values": [{"a": 1}]}]}, "features.0.allowed_values.0"),
        ({"features": [{"name": "x", "min_length": 5, "max_length": 2}]}, "features.0.min_length"),
        ({"features": [{"name": "x", "min_length": -1}]}, "features.0.min_length"),
        ({"features": [{"name": "x", "pattern": "("}]}, "features.0.pattern"),
        ({"features": [{"name": "x", "pattern": "(a+)+$"}]}, "features.0.pattern"),
        ({"features": [{"name": "x", "pattern": "(a|aa)*$"}]}, "features.0.pattern"),
        ({"features": [{"name": "x", "pattern": r"(a)\1"}]}, "features.0.pattern"),
        ({"features": [{"name": "x", "pattern": "a" * 300}]}, "features.0.pattern"),
        ({"features": [{"name": "x", "logical_type": "float"}]}, "features.0.logical_type"),
        ({"features": [{"name": "x", "logical_type": ["numeric", "blob"]}]}, "features.0.logical_type.1"),
        ({"features": [{"name": "x", "max_drift": {"psi": 0.2}}]}, "features.0.max_drift"),
        ({"reference_version": 1, "features": [{"name": "x", "max_drift": {"kl": 0.2}}]}, "features.0.max_drift.kl"),
        ({"reference_version": 1, "features": [{"name": "x", "max_drift": {"ks": -1}}]}, "features.0.max_drift.ks"),
        ({"features": [{"name": "x"}, {"name": "x"}]}, "features.1.name"),
        ({"features": [{"name": "x\x00"}]}, "features.0.name"),
        ({"features": [{"name": "x" * 2000}]}, "features.0.name"),
        ({"features": [{"name": str(i)} for i in range(2001)]}, "features"),
        ({"dataset": {"min_rows": 10, "max_rows": 5}}, "dataset.min_rows"),
        ({"dataset": {"min_rows": 1.5}}, "dataset.min_rows"),
        ({"dataset": {"min_class_share": 2}}, "dataset.min_class_share"),
        ({"dataset": {"no_split_leakage": 1}}, "dataset.no_split_leakage"),
        ({"dataset": {"rows": 1}}, "dataset.rows"),
        ({"dataset": []}, "dataset"),
    ],
)
def test_it_rejects_a_bad_contract_naming_the_field(document, field):
    with pytest.raises(ContractInvalid) as raised:
        contract_parsed(document)
    assert raised.value.field == field


def test_it_accepts_a_plain_pattern_with_bounded_repeats():
    parsed = contract_parsed({"features": [{"name": "id", "pattern": r"[A-Z]{2}-\d{4}(-[a-z]+)?"}]})
    assert parsed["features"][0]["pattern"] == r"[A-Z]{2}-\d{4}(-[a-z]+)?"


json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=5))
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from([*CODES, "name", "min", "features"]), inner)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(document=json_value)
def test_it_answers_any_document_with_a_contract_or_a_named_refusal(document):
    try:
        parsed = contract_parsed(document)
    except ContractInvalid as error:
        refusal = error.field
    else:
        refusal = None
        assert contract_parsed(parsed) == parsed
    assert refusal is None or refusal.startswith(
        ("contract", "enforcement", "reference_version", "features", "dataset")
    )


# --- Checking --------------------------------------------------------------------------------------


def test_it_passes_a_profile_within_its_contract():
    contract = contract_parsed(
        {
            "features": [
                {"name": "x", "logical_type": "numeric", "required": True, "min": 0, "max": 10},
                {"name": "colour", "allowed_values": ["red", "blue"]},
            ],
            "dataset": {"min_rows": 10, "max_rows": 1000},
        }
    )
    anomalies = contract_anomalies(contract, facts(numeric("x", 1, 9), categorical("colour", {"red": 60, "blue": 40})))
    assert anomalies == []
    assert contract_status(anomalies) == "passed"


def test_it_finds_each_kind_of_anomaly():
    contract = contract_parsed(
        {
            "reference_version": 1,
            "features": [
                {"name": "x", "logical_type": "categorical", "required": True, "min": 0, "max": 5, "unique": True},
                {"name": "colour", "allowed_values": ["red", "blue"], "max_outside_share": 0.05, "max_length": 3},
                {"name": "code", "pattern": "[A-Z]{2}"},
                {"name": "gone"},
                {"name": "moved", "max_drift": {"ks": 0.1}},
            ],
            "dataset": {
                "min_rows": 500,
                "max_duplicate_share": 0.01,
                "classes": ["a", "b", "c"],
                "min_class_share": 0.2,
                "max_label_conflict_share": 0.0,
                "no_split_leakage": True,
            },
        }
    )
    x = numeric("x", -1, 9, count=90, nulls=10)
    x = FeatureFacts(x.name, x.dtype, x.logical_type, {**x.statistics, "distinct_count": 50})
    profile = facts(
        x,
        categorical("colour", {"red": 50, "blue": 30, "green": 20}),
        FeatureFacts("code", "string", "text", {"count": 3, "null_count": 0}),
        numeric("moved", 0, 1),
        numeric("extra", 0, 1),
        quality={
            "label_column": "label",
            "class_counts": {"a": 60, "b": 35, "d": 5},
            "duplicate_rows": 5,
            "label_conflicts": {"groups": 1, "rows": 2, "examples": []},
            "split_leakage": {"rows": 3, "between": {}, "examples": []},
        },
        sample=[{"code": "AB"}, {"code": "abc"}, {"code": None}],
    )
    result = {
        "features": [
            {"name": "moved", "metrics": {"ks": {"value": 0.4, "threshold": 0.1, "drifted": True}}},
        ]
    }
    anomalies = contract_anomalies(contract, profile, drift_result=result, reference_label="version 1")

    assert codes(anomalies) == sorted(
        [
            "type_changed",
            "null_fraction",
            "not_unique",
            "out_of_range",
            "unexpected_values",
            "length",
            "pattern",
            "missing_feature",
            "new_feature",
            "row_count",
            "duplicate_share",
            "unexpected_classes",
            "class_share",
            "label_conflicts",
            "split_leakage",
            "drift",
        ]
    )
    assert set(codes(anomalies)) == set(CODES)
    assert contract_status(anomalies) == "failed"
    by_code = {item["code"]: item for item in anomalies}
    assert by_code["unexpected_values"]["actual"] == {"outside_share": 0.2, "unexpected": ["green"]}
    assert by_code["out_of_range"]["actual"] == {"min": -1, "max": 9}
    assert by_code["class_share"]["actual"] == {"c": 0.0, "d": 0.05} or by_code["class_share"]["actual"] == {"c": 0.0}
    assert by_code["drift"]["actual"] == {"ks": 0.4}
    assert by_code["new_feature"]["severity"] == "warning"
    assert "row sample" in by_code["pattern"]["message"]
    assert by_code["pattern"]["actual"]["not_matching"] == 1


def test_it_lets_a_contract_pass_with_only_a_new_feature():
    contract = contract_parsed({"features": [{"name": "x"}]})
    anomalies = contract_anomalies(contract, facts(numeric("x", 0, 1), numeric("y", 0, 1)))
    assert codes(anomalies) == ["new_feature"]
    assert contract_status(anomalies) == "passed"


def test_it_counts_uncounted_values_as_possibly_outside_the_domain():
    contract = contract_parsed({"features": [{"name": "c", "allowed_values": ["a"], "max_outside_share": 0.1}]})
    anomalies = contract_anomalies(contract, facts(categorical("c", {"a": 80}, other=20)))
    assert codes(anomalies) == ["unexpected_values"]
    assert "at most" in anomalies[0]["message"]


def test_it_matches_numbers_counted_as_categories_with_the_contract_values():
    contract = contract_parsed({"features": [{"name": "c", "allowed_values": [1, 2]}]})
    feature = FeatureFacts(
        "c", "int64", "categorical", {"count": 10, "null_count": 0}, {"counts": [[1, 5], [2.0, 5]], "other_count": 0}
    )
    assert contract_anomalies(contract, facts(feature)) == []


def test_it_warns_when_drift_cannot_be_measured():
    contract = contract_parsed({"reference_version": 3, "features": [{"name": "x", "max_drift": {"psi": 0.2}}]})
    anomalies = contract_anomalies(contract, facts(numeric("x", 0, 1)), drift_result=None)
    assert [(item["code"], item["severity"]) for item in anomalies] == [("drift", "warning")]


# --- Inference -------------------------------------------------------------------------------------


def test_it_infers_a_contract_its_own_profile_passes():
    profile = facts(
        numeric("age", 18, 90, dtype="int64"),
        numeric("score", 0.5, 0.75, nulls=10),
        categorical("colour", {"red": 50, "blue": 40, "green": 10}),
        quality={"label_column": "colour", "class_counts": {"red": 50, "blue": 40, "green": 10}, "duplicate_rows": 0},
    )
    draft = contract_inferred(profile, reference_version=2)

    assert contract_parsed(draft) == draft
    age, score, colour = draft["features"]
    assert (age["min"], age["max"], age["required"]) == (10, 98, True)
    assert (score["required"], score["max_null_fraction"]) == (False, round(10 / 110 * 2 + 0.01, 4))
    assert score["min"] < 0.5
    assert score["max"] > 0.75
    assert colour["allowed_values"] is None  # the label: its classes are the dataset's
    assert draft["dataset"]["classes"] == ["blue", "green", "red"]
    assert draft["dataset"]["min_class_share"] == 0.05
    assert age["max_drift"] == {"ks": pytest.approx(age["max_drift"]["ks"])}
    assert age["max_drift"]["ks"] >= 0.1
    same = drift.compare(
        drift.ProfileView(100, list(profile.features)),
        drift.ProfileView(100, list(profile.features)),
    )
    assert contract_anomalies(draft, profile, drift_result=same) == []


def test_it_infers_a_domain_for_few_strings_only():
    few = categorical("c", {"a": 5, "b": 5})
    many = categorical("d", {f"v{i}": 1 for i in range(60)})
    counted = categorical("e", {"a": 5}, other=5)
    draft = contract_inferred(facts(few, many, counted), reference_version=None)
    assert [rule["allowed_values"] for rule in draft["features"]] == [["a", "b"], None, None]
    assert all(rule["max_drift"] == {} for rule in draft["features"])


@settings(max_examples=200, deadline=None)
@given(
    low=st.floats(min_value=-1e9, max_value=1e9),
    width=st.floats(min_value=0, max_value=1e9),
    integer=st.booleans(),
)
def test_it_infers_a_range_that_holds_what_it_saw(low, width, integer):
    high = low + width
    if integer:
        low, high = math.floor(low), math.floor(high)
    feature = numeric("x", low, high, dtype="int64" if integer else "float64")
    draft = contract_inferred(facts(feature), reference_version=None)
    rule = draft["features"][0]
    assert rule["min"] <= low
    assert rule["max"] >= high
    assert contract_anomalies(draft, facts(feature)) == []


def coded(counted=None):
    statistics = {"count": 1000, "null_count": 0}
    if counted is not None:
        statistics["pattern"] = counted
    return FeatureFacts("code", "string", "text", statistics)


def test_it_reads_the_pattern_counted_on_every_value_when_the_profile_has_it():
    contract = contract_parsed({"features": [{"name": "code", "pattern": "[A-Z]{2}"}]})
    counted = {"regex": "[A-Z]{2}", "checked": 998, "mismatched": 3, "unchecked": 2, "examples": ["a1", "zz"]}

    # The sample matches: only the full count knows of the three values that do not.
    anomalies = contract_anomalies(contract, facts(coded(counted), sample=[{"code": "AB"}]))

    assert [(item["code"], item["severity"]) for item in anomalies] == [("pattern", "error"), ("pattern", "warning")]
    error, warning = anomalies
    assert error["actual"] == {
        "scope": "every_value",
        "checked": 998,
        "not_matching": 3,
        "unchecked": 2,
        "examples": ["a1", "zz"],
    }
    assert "3 of the 998 values" in error["message"]
    assert "every value" in error["message"]
    assert "2 values" in warning["message"]
    assert "longer than 4,096" in warning["message"]
    assert contract_status(anomalies) == "failed"


def test_it_passes_a_pattern_every_value_matches_even_if_the_sample_would_not_say():
    contract = contract_parsed({"features": [{"name": "code", "pattern": "[A-Z]{2}"}]})
    counted = {"regex": "[A-Z]{2}", "checked": 1000, "mismatched": 0, "unchecked": 0, "examples": []}

    assert contract_anomalies(contract, facts(coded(counted), sample=[{"code": "AB"}])) == []


@pytest.mark.parametrize(
    "counted",
    [
        None,  # profiled before any contract gave a pattern
        {"regex": "[a-z]+", "checked": 1000, "mismatched": 0, "unchecked": 0, "examples": []},  # another pattern
        {"regex": "[A-Z]{2}", "checked": 0, "mismatched": 0, "unchecked": 0, "examples": [], "error": "refused"},
    ],
)
def test_it_falls_back_to_the_row_sample_and_says_so(counted):
    contract = contract_parsed({"features": [{"name": "code", "pattern": "[A-Z]{2}"}]})

    anomalies = contract_anomalies(
        contract, facts(coded(counted), sample=[{"code": "AB"}, {"code": "abc"}, {"code": None}, {"code": 12}])
    )

    assert codes(anomalies) == ["pattern"]
    assert anomalies[0]["actual"] == {
        "scope": "row_sample",
        "checked": 3,
        "not_matching": 2,
        "unchecked": 0,
        "examples": ["12", "abc"],
    }
    assert "Only the stored row sample was checked" in anomalies[0]["message"]


def test_it_hands_the_profiler_each_featured_pattern():
    contract = contract_parsed(
        {"features": [{"name": "code", "pattern": "[A-Z]{2}"}, {"name": "x"}, {"name": "id", "pattern": r"\d+"}]}
    )

    assert contract_patterns(contract) == {"code": "[A-Z]{2}", "id": r"\d+"}
