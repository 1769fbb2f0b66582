"""Unit tests of the pure helpers behind registration: the reference profile, the names a
cell produced, and model references."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import jupyter_mlops
from jupyter_mlops.core.capture.produced import did_produce, produced_names, produced_tag_value
from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.monitoring.profile import PROFILE_FORMAT, profile_data
from jupyter_mlops.core.registry.refs import ModelRef, parse_model_ref
from jupyter_mlops.core.tags import CELL_PRODUCED_TAG

# -- profile_data ---------------------------------------------------------------------------


def test_profile_header_names_the_data_and_its_fingerprint():
    frame = pd.DataFrame({"income": [1.0, 2.0, 3.0], "region": ["a", "b", "a"]})
    profile = profile_data("X_train", frame)
    assert profile["format"] == PROFILE_FORMAT == "jupyter-mlops-profile/1"
    assert profile["dataset"] == "X_train"
    assert profile["fingerprint"] == jupyter_mlops.fingerprint(frame)
    assert profile["rows"] == 3
    assert list(profile["columns"]) == ["income", "region"]


def test_numeric_column_has_deciles_mean_and_std():
    values = pd.Series(np.arange(1, 101, dtype=float), name="score")
    column = profile_data("s", values)["columns"]["score"]
    assert column["kind"] == "numeric"
    assert column["dtype"] == "float64"
    assert column["missing_share"] == 0.0
    assert column["mean"] == pytest.approx(50.5)
    assert column["std"] == pytest.approx(float(values.std(ddof=1)))
    edges, counts = column["bins"]["edges"], column["bins"]["counts"]
    assert len(edges) == 11 and len(counts) == 10
    assert edges[0] == 1.0 and edges[-1] == 100.0
    assert edges == sorted(edges)
    assert counts == [10] * 10  # deciles split 100 distinct values evenly


def test_every_present_value_is_counted_once_and_missing_share_is_right():
    rng = np.random.default_rng(3)
    values = rng.normal(size=1000)
    values[::10] = np.nan  # 100 missing
    column = profile_data("x", pd.DataFrame({"x": values}))["columns"]["x"]
    assert column["missing_share"] == pytest.approx(0.1)
    assert sum(column["bins"]["counts"]) == 900  # the maximum lands in the closed last bin


def test_integer_column_with_missing_values():
    series = pd.Series(pd.array([1, None, 3, 4], dtype="Int64"), name="n")
    column = profile_data("n", series)["columns"]["n"]
    assert column["kind"] == "numeric"
    assert column["missing_share"] == 0.25
    assert column["mean"] == pytest.approx(8 / 3)
    assert sum(column["bins"]["counts"]) == 3


def test_constant_column_is_one_bin_holding_everything():
    column = profile_data("c", pd.Series([5.0] * 7, name="c"))["columns"]["c"]
    assert column["bins"] == {"edges": [5.0, 5.0], "counts": [7]}
    assert column["mean"] == 5.0 and column["std"] == 0.0


def test_all_missing_column_has_no_statistics():
    column = profile_data("m", pd.Series([np.nan] * 4, name="m"))["columns"]["m"]
    assert column["missing_share"] == 1.0
    assert column["mean"] is None and column["std"] is None
    assert column["bins"] == {"edges": [], "counts": []}


def test_booleans_are_categorical_true_false():
    frame = pd.DataFrame(
        {
            "flag": [True, False, True, True],
            "maybe": pd.array([True, None, False, True], dtype="boolean"),
        }
    )
    columns = profile_data("b", frame)["columns"]
    assert columns["flag"]["kind"] == "categorical"
    assert columns["flag"]["frequencies"] == {"true": 0.75, "false": 0.25}
    assert columns["maybe"]["missing_share"] == 0.25
    assert columns["maybe"]["frequencies"] == pytest.approx({"true": 2 / 3, "false": 1 / 3})


def test_categories_keep_the_fifty_most_frequent_and_the_rest_share():
    # c0 appears 3 times, c1..c59 twice: c0 first, then 49 of the others, 10 left over
    values = ["c0"] * 3 + [f"c{i}" for i in range(1, 60)] * 2
    column = profile_data("cat", pd.Series(values, name="cat"))["columns"]["cat"]
    assert column["kind"] == "categorical"
    frequencies = column["frequencies"]
    assert len(frequencies) == 50
    assert next(iter(frequencies)) == "c0"
    assert frequencies["c0"] == pytest.approx(3 / 121)
    assert column["other_share"] == pytest.approx(20 / 121)
    assert sum(frequencies.values()) + column["other_share"] == pytest.approx(1.0)


def test_string_column_missing_values_are_not_a_category():
    column = profile_data("s", pd.Series(["x", "y", None, "x"], name="s"))["columns"]["s"]
    assert column["missing_share"] == 0.25
    assert column["frequencies"] == pytest.approx({"x": 2 / 3, "y": 1 / 3})
    assert "None" not in column["frequencies"] and "nan" not in column["frequencies"]


def test_other_share_is_zero_when_every_category_is_listed():
    column = profile_data("c", pd.Series(list("aabbbccccd"), name="c"))["columns"]["c"]
    assert len(column["frequencies"]) == 4
    assert column["other_share"] == 0.0


def test_datetimes_are_summarised_in_epoch_seconds():
    when = pd.Series(pd.date_range("2026-01-01", periods=4, freq="D", tz="UTC"), name="when")
    column = profile_data("t", when)["columns"]["when"]
    start = pd.Timestamp("2026-01-01", tz="UTC").timestamp()
    assert column["kind"] == "datetime"
    assert column["bins"]["edges"][0] == start
    assert column["bins"]["edges"][-1] == start + 3 * 86400
    assert column["mean"] == pytest.approx(start + 1.5 * 86400)


def test_series_is_one_column_named_after_it():
    assert list(profile_data("y", pd.Series([0, 1, 1], name="default"))["columns"]) == ["default"]
    assert list(profile_data("y", pd.Series([0, 1, 1]))["columns"]) == ["0"]


def test_empty_frame_profiles_without_failing():
    profile = profile_data("e", pd.DataFrame({"a": pd.Series([], dtype=float)}))
    assert profile["rows"] == 0
    assert profile["columns"]["a"]["missing_share"] == 0.0
    assert profile["columns"]["a"]["bins"] == {"edges": [], "counts": []}


def test_profile_is_strict_json_even_with_missing_and_infinite_values():
    frame = pd.DataFrame(
        {
            "x": [1.0, np.inf, -np.inf, np.nan, 2.0],
            "empty": [np.nan] * 5,
            "label": ["a", None, "b", "a", "a"],
        }
    )
    text = json.dumps(profile_data("f", frame), allow_nan=False)  # raises on NaN/inf
    assert json.loads(text)["columns"]["x"]["mean"] == pytest.approx(1.5)


# -- produced_names -------------------------------------------------------------------------


def test_produced_names_finds_assignments_of_every_form():
    code = (
        "a, (b, *c) = 1, (2, 3)\n"
        "x += 1\n"
        "w: int = 2\n"
        "for i in range(3):\n    pass\n"
        "with open('f') as fh:\n    pass\n"
        "if (n := 3):\n    pass\n"
    )
    assert set(produced_names(code)) == {"a", "b", "c", "x", "w", "i", "fh", "n"}


def test_produced_names_finds_fit_like_calls_on_names_only():
    code = (
        "clf.fit(X, y)\n"
        "scaler.fit_transform(X)\n"
        "km.fit_predict(X)\n"
        "sgd.partial_fit(X, y)\n"
        "self.inner.fit(X)\n"  # not a plain name
        "model.predict(X)\n"  # not a fit
    )
    assert produced_names(code) == ["clf", "scaler", "km", "sgd"]


def test_produced_names_ignores_imports_comprehensions_and_bad_code():
    assert produced_names("import pandas as pd\nfrom x import y as z") == []
    assert produced_names("[q for q in range(3)]\nlambda model: model") == []
    assert produced_names("def broken(:\n    pass") == []


def test_produced_names_ignores_names_local_to_functions_and_classes():
    code = (
        "def retrain(data):\n"
        "    model = make(data)\n"
        "    model.fit(data)\n"
        "    return model\n"
        "class Config:\n"
        "    clf = None\n"
    )
    assert produced_names(code) == ["retrain", "Config"]  # the cell binds these, not model/clf


def test_produced_names_docstring_example_holds():
    code = "model = Pipeline([])\nclf.fit(X, y)\nfor i in range(3): pass"
    assert produced_names(code) == ["model", "clf", "i"]


def test_produced_tag_value_brackets_names_with_commas():
    assert CELL_PRODUCED_TAG == "mlops.cell.produced"
    value = produced_tag_value("model = 1\nclf.fit(X)")
    assert value == ",model,clf,"
    assert produced_tag_value("print('nothing bound')") is None


def test_produced_tag_value_is_cut_at_a_name_boundary():
    code = "\n".join(f"variable_{i:05d} = {i}" for i in range(1000))
    value = produced_tag_value(code)
    assert value is not None
    assert len(value) <= 8000
    assert value.startswith(",variable_00000,") and value.endswith(",")
    names = value.strip(",").split(",")
    assert all(len(name) == len("variable_00000") for name in names)


@pytest.mark.parametrize(
    ("tag", "name", "expected"),
    [
        (",model,clf,", "model", True),
        (",model,clf,", "clf", True),
        (",model2,", "model", False),  # whole names only
        (",my_model,", "model", False),
        ("", "model", False),
        (None, "model", False),
    ],
)
def test_did_produce_matches_whole_names(tag, name, expected):
    assert did_produce(tag, name) is expected


# -- parse_model_ref ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("credit-risk", ModelRef("credit-risk")),
        ("credit-risk@champion", ModelRef("credit-risk", alias="champion")),
        ("credit-risk/3", ModelRef("credit-risk", version="3")),
        ("credit-risk/03", ModelRef("credit-risk", version="3")),
        ("models:/credit-risk/3", ModelRef("credit-risk", version="3")),
        ("models:/credit-risk@champion", ModelRef("credit-risk", alias="champion")),
        ("  credit risk @ champion ", ModelRef("credit risk", alias="champion")),
    ],
)
def test_parse_model_ref(text, expected):
    assert parse_model_ref(text) == expected


@pytest.mark.parametrize(
    "ref",
    [ModelRef("m"), ModelRef("m", alias="champion"), ModelRef("m", version="2")],
)
def test_model_ref_prints_as_it_is_parsed(ref):
    assert parse_model_ref(str(ref)) == ref


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "a model name is required"),
        ("   ", "a model name is required"),
        ("credit-risk@", "expected MODEL@ALIAS"),
        ("@champion", "expected MODEL@ALIAS"),
        ("credit-risk/latest", "expected MODEL/VERSION with a version number"),
        ("credit-risk/", "expected MODEL/VERSION"),
        ("/3", "expected MODEL/VERSION"),
        ("credit-risk/-1", "expected MODEL/VERSION"),
    ],
)
def test_parse_model_ref_rejects_malformed_refs_as_usage(text, message):
    with pytest.raises(MlopsError, match=message) as raised:
        parse_model_ref(text)
    assert raised.value.code is ErrorCode.USAGE
    assert raised.value.code.exit_code == 2
