"""ScalingData: construction, validation, groups and reference scales (fast tier, no sampling)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models import DataError, Scales, ScalingData, csv_delimiter, pooled_columns, unused_columns

N = [1e7, 1e8, 1e9]
D = [2e8, 2e9, 2e10]
LOSS = [3.2, 2.7, 2.3]


def small(**inputs: list[float]) -> ScalingData:
    """Three runs with params and data, overridable per input."""
    return ScalingData({"params": N, "data": D} | inputs, LOSS)


def write_csv(tmp_path: Path, text: str, name: str = "runs.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# -- construction -------------------------------------------------------------------------------


def test_construction_from_lists_gives_float_arrays_and_one_default_group() -> None:
    """Plain Python lists must become float64 arrays so the model never sees object dtypes."""
    data = ScalingData({"params": [1, 2, 3]}, [3, 2, 1])
    assert data.inputs["params"].dtype == np.float64
    assert data.loss.dtype == np.float64
    np.testing.assert_array_equal(data.inputs["params"], [1.0, 2.0, 3.0])
    assert len(data) == 3
    assert data.groups == ["all"]
    np.testing.assert_array_equal(data.group_index, [0, 0, 0])
    assert data.warnings == ()


def test_construction_from_arrays_flattens_and_stringifies_groups() -> None:
    """Column vectors and non-string group labels are normalised to 1-d floats and str names."""
    data = ScalingData(
        {"params": np.array([[1e6], [2e6]])}, np.array([[2.0], [1.5]]), group=np.array([1, 2])
    )
    assert data.inputs["params"].shape == (2,)
    assert data.loss.shape == (2,)
    assert data.group.tolist() == ["1", "2"]


def test_from_frame_maps_columns_reads_groups_and_keeps_other_columns_as_meta() -> None:
    """Users' column names differ from ours; unmapped columns are kept for reporting."""
    frame = pd.DataFrame(
        {
            "Model Size": N,
            "tokens": D,
            "final_loss": LOSS,
            "arch": ["mamba", "transformer", "mamba"],
            "run_id": ["r1", "r2", "r3"],
        }
    )
    data = ScalingData.from_frame(
        frame, {"params": "Model Size", "data": "tokens", "loss": "final_loss"}, group_col="arch"
    )
    assert set(data.inputs) == {"params", "data"}
    np.testing.assert_array_equal(data.inputs["params"], N)
    np.testing.assert_array_equal(data.inputs["data"], D)
    np.testing.assert_array_equal(data.loss, LOSS)
    assert data.group.tolist() == ["mamba", "transformer", "mamba"]
    assert data.meta is not None
    assert list(data.meta.columns) == ["run_id"]


def test_from_frame_uses_canonically_named_columns_without_mapping() -> None:
    """Columns already named like our inputs need no mapping entry."""
    frame = pd.DataFrame({"params": N, "steps": [10.0, 20.0, 30.0], "loss": LOSS})
    data = ScalingData.from_frame(frame)
    assert set(data.inputs) == {"params", "steps"}
    assert data.meta is None


def test_from_frame_accepts_group_through_the_mapping() -> None:
    """``{"group": COLUMN}`` in the mapping is the same as ``group_col=COLUMN``."""
    frame = pd.DataFrame({"params": N, "loss": LOSS, "family": ["a", "b", "a"]})
    data = ScalingData.from_frame(frame, {"group": "family"})
    assert data.groups == ["a", "b"]


def test_from_csv_reads_file_with_mapping_and_group(tmp_path: Path) -> None:
    """CSV upload is the main entry point of the CLI and the service."""
    path = write_csv(
        tmp_path,
        "N,D,final_loss,arch\n1e7,2e8,3.2,b\n1e8,2e9,2.7,a\n1e9,2e10,2.3,b\n",
    )
    data = ScalingData.from_csv(
        path, {"params": "N", "data": "D", "loss": "final_loss"}, group_col="arch"
    )
    np.testing.assert_array_equal(data.inputs["params"], N)
    np.testing.assert_array_equal(data.loss, LOSS)
    assert data.groups == ["a", "b"]
    np.testing.assert_array_equal(data.group_index, [1, 0, 1])


def test_from_csv_missing_file_raises_data_error_naming_file(tmp_path: Path) -> None:
    """A wrong path is a user mistake, reported as a DataError rather than a traceback."""
    with pytest.raises(DataError, match="cannot read") as exc:
        ScalingData.from_csv(tmp_path / "absent.csv")
    assert exc.value.field == "file"


def test_flops_per_param_token_fills_data_from_compute(tmp_path: Path) -> None:
    """Many sweeps log FLOPs and size only; D = C / (k N) recovers the token count."""
    k = 6.0
    compute = [k * n * d for n, d in zip(N, D, strict=True)]
    path = write_csv(
        tmp_path,
        "params,compute,loss\n"
        + "".join(f"{n},{c},{x}\n" for n, c, x in zip(N, compute, LOSS, strict=True)),
    )
    data = ScalingData.from_csv(path, flops_per_param_token=k)
    np.testing.assert_allclose(data.inputs["data"], D, rtol=1e-12)
    np.testing.assert_array_equal(data.inputs["compute"], compute)


def test_flops_per_param_token_fills_compute_from_data() -> None:
    """C = k N D lets a compute-based family use a size/tokens sweep."""
    frame = pd.DataFrame({"params": N, "data": D, "loss": LOSS})
    data = ScalingData.from_frame(frame, flops_per_param_token=6)
    np.testing.assert_allclose(
        data.inputs["compute"], [6 * n * d for n, d in zip(N, D, strict=True)]
    )
    np.testing.assert_array_equal(data.inputs["data"], D)


def test_flops_per_param_token_leaves_given_columns_alone() -> None:
    """When both data and compute are present nothing is recomputed (the user's numbers win)."""
    frame = pd.DataFrame({"params": N, "data": D, "compute": [1.0, 2.0, 3.0], "loss": LOSS})
    data = ScalingData.from_frame(frame, flops_per_param_token=6)
    np.testing.assert_array_equal(data.inputs["compute"], [1.0, 2.0, 3.0])


# -- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input_is_rejected_naming_field_and_row(bad: float) -> None:
    """NaN or inf would silently poison the log-likelihood."""
    with pytest.raises(
        DataError, match=r"'params' is missing or not finite in 1 row\(s\): 1"
    ) as exc:
        small(params=[1e7, bad, 1e9])
    assert exc.value.field == "params"


def test_non_finite_loss_is_rejected_naming_loss() -> None:
    """The target is validated like the inputs."""
    with pytest.raises(DataError, match=r"'loss' is missing or not finite in 1 row\(s\): 2") as exc:
        ScalingData({"params": N}, [3.0, 2.0, np.nan])
    assert exc.value.field == "loss"


@pytest.mark.parametrize("bad", [0.0, -1e6])
def test_zero_or_negative_input_is_rejected(bad: float) -> None:
    """Inputs enter through their logarithm, so they must be strictly positive."""
    with pytest.raises(DataError, match=r"'data' must be > 0 in 1 row\(s\): 0") as exc:
        small(data=[bad, 2e9, 2e10])
    assert exc.value.field == "data"


@pytest.mark.parametrize("bad", [0.0, -0.5])
def test_zero_or_negative_loss_is_rejected(bad: float) -> None:
    """The likelihood is on log loss, which needs loss > 0."""
    with pytest.raises(DataError, match=r"'loss' must be > 0 in 1 row\(s\): 1") as exc:
        ScalingData({"params": N}, [3.0, bad, 2.0])
    assert exc.value.field == "loss"


def test_many_bad_rows_are_listed_up_to_ten() -> None:
    """Long error messages stay readable: ten rows then an ellipsis."""
    values = -np.ones(12)
    with pytest.raises(DataError, match=r"in 12 row\(s\): 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 \.\.\.$"):
        ScalingData({"params": values}, np.ones(12))


def test_zero_label_noise_is_accepted() -> None:
    """Label noise is a fraction: clean labels (0) are a legitimate value."""
    data = small(label_noise=[0.0, 0.1, 0.2])
    np.testing.assert_array_equal(data.inputs["label_noise"], [0.0, 0.1, 0.2])


@pytest.mark.parametrize("bad", [1.0, 1.5])
def test_label_noise_at_or_above_one_is_rejected(bad: float) -> None:
    """A fraction of corrupted labels must be < 1."""
    with pytest.raises(DataError, match=r"'label_noise' must be < 1 in 1 row\(s\): 2") as exc:
        small(label_noise=[0.0, 0.1, bad])
    assert exc.value.field == "label_noise"


def test_negative_label_noise_is_rejected() -> None:
    """Negative fractions are nonsense."""
    with pytest.raises(DataError, match=r"'label_noise' must be >= 0 in 1 row\(s\): 0") as exc:
        small(label_noise=[-0.1, 0.1, 0.2])
    assert exc.value.field == "label_noise"


def test_epochs_below_one_is_rejected() -> None:
    """D = epochs x U needs at least one pass over the unique data."""
    with pytest.raises(DataError, match=r"'epochs' must be >= 1 in 1 row\(s\): 1") as exc:
        small(epochs=[1.0, 0.5, 4.0])
    assert exc.value.field == "epochs"


def test_non_numeric_strings_are_rejected_naming_rows(tmp_path: Path) -> None:
    """A typo in a CSV cell must point at the row, not fail deep inside numpy."""
    path = write_csv(tmp_path, "N,loss\n1e7,3.2\nabc,2.7\n1e9,2.3\n1e10,n/a?\n")
    with pytest.raises(DataError, match=r"'params' is not a number in 1 row\(s\): 1") as exc:
        ScalingData.from_csv(path, {"params": "N"})
    assert exc.value.field == "params"


def test_non_numeric_loss_is_rejected_naming_rows() -> None:
    """The loss column goes through the same parsing as the inputs."""
    frame = pd.DataFrame({"params": N, "loss": ["3.2", "oops", "2.3"]})
    with pytest.raises(DataError, match=r"'loss' is not a number in 1 row\(s\): 1") as exc:
        ScalingData.from_frame(frame)
    assert exc.value.field == "loss"


def test_empty_csv_cell_is_reported_as_missing(tmp_path: Path) -> None:
    """An empty cell is missing (not a parse error) and still names the row."""
    path = write_csv(tmp_path, "params,loss\n1e7,3.2\n,2.7\n")
    with pytest.raises(
        DataError, match=r"'params' is missing or not finite in 1 row\(s\): 1"
    ) as exc:
        ScalingData.from_csv(path)
    assert exc.value.field == "params"


def test_missing_loss_column_is_rejected() -> None:
    """Without a target there is nothing to fit; the message says how to map one."""
    frame = pd.DataFrame({"params": N, "final_loss": LOSS})
    with pytest.raises(DataError, match=r"no 'loss' column \(map one with loss=COLUMN\)") as exc:
        ScalingData.from_frame(frame)
    assert exc.value.field == "loss"


@pytest.mark.parametrize(
    ("header", "sep"),
    [
        ("params,data,loss", ","),
        ("params\tdata\tloss", "\t"),
        ("params;data;loss", ";"),
        ("\ufeffparams;data;loss\r", ";"),
        ('"a;b",c', ","),  # a comma in the header wins: a semicolon inside a name is a name
        ("loss", ","),
        ("", ","),
    ],
)
def test_csv_delimiter_is_read_off_the_header(header: str, sep: str) -> None:
    assert csv_delimiter(header + "\n1,2,3\n") == sep


@pytest.mark.parametrize("sep", ["\t", ";"])
def test_tab_and_semicolon_separated_files_read_as_the_comma_one(tmp_path: Path, sep: str) -> None:
    """Spreadsheets save tabs, or semicolons where the comma is the decimal mark."""
    rows = ["params,data,loss,group", "1e8,2e9,3.1,a", "2e8,4e9,2.9,b"]
    (tmp_path / "comma.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "other.csv").write_text("\n".join(r.replace(",", sep) for r in rows) + "\n")
    want = ScalingData.from_csv(tmp_path / "comma.csv", group_col="group")
    got = ScalingData.from_csv(tmp_path / "other.csv", group_col="group")
    assert got.inputs.keys() == want.inputs.keys() == {"params", "data"}
    np.testing.assert_array_equal(got.loss, want.loss)
    np.testing.assert_array_equal(got.group, want.group)


def test_a_compressed_csv_is_still_read(tmp_path: Path) -> None:
    """pandas reads ``.csv.gz``; telling the separator must not get in its way."""
    import gzip

    path = tmp_path / "runs.csv.gz"
    path.write_bytes(gzip.compress(b"params,loss\n1e8,3.1\n2e8,2.9\n4e8,2.7\n"))
    assert ScalingData.from_csv(path).loss.tolist() == [3.1, 2.9, 2.7]


def test_an_open_file_is_read_from_where_it_stands() -> None:
    """A text or byte stream: its separator told from its first line, then read from there."""
    import io

    text = "params;loss\n1e8;3.1\n2e8;2.9\n4e8;2.7\n"
    for stream in (io.StringIO(text), io.BytesIO(text.encode())):
        assert ScalingData.from_csv(stream).loss.tolist() == [3.1, 2.9, 2.7]


def test_a_csv_without_a_header_row_is_named_as_such(tmp_path: Path) -> None:
    """A digitiser's two columns of numbers: the first row became the header; the error says so."""
    path = tmp_path / "curve.csv"
    path.write_text("63.5, 2.391\n75.2, 2.369\n85.0, 2.346\n")
    with pytest.raises(DataError, match="no header row; add one") as exc:
        ScalingData.from_csv(path)
    assert exc.value.field == "loss" and "'63.5', '2.391'" in str(exc.value)
    with pytest.raises(DataError, match="no header row") as exc:
        ScalingData.from_csv(path, {"loss": "y"})
    assert exc.value.field == "loss"
    # a header with a name in it is a header, whatever the other names are
    frame = pd.DataFrame({"1": N, "x": LOSS})
    with pytest.raises(DataError) as exc:
        ScalingData.from_frame(frame)
    assert "header" not in str(exc.value)


def test_mapping_to_missing_column_is_rejected_naming_canonical_field() -> None:
    """A mapping typo names the field the user was trying to fill."""
    frame = pd.DataFrame({"params": N, "loss": LOSS})
    with pytest.raises(DataError, match=r"column 'Tokens' \(for data\) not in the data") as exc:
        ScalingData.from_frame(frame, {"data": "Tokens"})
    assert exc.value.field == "data"


def test_unknown_canonical_field_in_mapping_is_rejected() -> None:
    """Mapping to a name we do not know would otherwise be silently ignored."""
    frame = pd.DataFrame({"params": N, "loss": LOSS})
    with pytest.raises(DataError, match="cannot map unknown field 'tokens'") as exc:
        ScalingData.from_frame(frame, {"tokens": "params"})
    assert exc.value.field == "tokens"


def test_unknown_input_name_in_constructor_is_rejected() -> None:
    """Direct construction is validated against the canonical inputs too."""
    with pytest.raises(DataError, match="unknown input 'tokens'") as exc:
        ScalingData({"tokens": N}, LOSS)
    assert exc.value.field == "tokens"


def test_input_of_wrong_length_is_rejected() -> None:
    """Columns of different lengths cannot describe the same runs."""
    with pytest.raises(DataError, match="input 'data' has 2 values for 3 rows") as exc:
        ScalingData({"params": N, "data": D[:2]}, LOSS)
    assert exc.value.field == "data"


def test_group_of_wrong_length_is_rejected() -> None:
    """Every row needs exactly one group."""
    with pytest.raises(DataError, match="group has the wrong length") as exc:
        ScalingData({"params": N}, LOSS, group=["a", "b"])
    assert exc.value.field == "group"


def test_missing_group_column_is_rejected() -> None:
    """``group_col`` naming an absent column is reported against ``group``."""
    frame = pd.DataFrame({"params": N, "loss": LOSS})
    with pytest.raises(DataError, match="group column 'arch' not in the data") as exc:
        ScalingData.from_frame(frame, group_col="arch")
    assert exc.value.field == "group"


def test_empty_group_value_is_rejected_naming_rows(tmp_path: Path) -> None:
    """A run without an architecture cannot be placed in the hierarchy."""
    path = write_csv(tmp_path, "params,loss,arch\n1e7,3.2,a\n1e8,2.7,\n1e9,2.3,b\n")
    with pytest.raises(DataError, match=r"'group' is empty in 1 row\(s\): 1") as exc:
        ScalingData.from_csv(path, group_col="arch")
    assert exc.value.field == "group"


@pytest.mark.parametrize("blank", ["", "   "])
def test_blank_string_group_value_is_rejected(blank: str) -> None:
    """An empty-string architecture is as empty as a missing one (e.g. JSON uploads)."""
    frame = pd.DataFrame({"params": N, "loss": LOSS, "arch": ["a", blank, "b"]})
    with pytest.raises(DataError, match=r"'group' is empty in 1 row\(s\): 1") as exc:
        ScalingData.from_frame(frame, group_col="arch")
    assert exc.value.field == "group"


def test_no_rows_is_rejected() -> None:
    """An empty dataset cannot be fitted."""
    with pytest.raises(DataError, match="no observations") as exc:
        ScalingData({"params": []}, [])
    assert exc.value.field == "loss"


def test_no_rows_from_frame_is_rejected() -> None:
    """A CSV with only a header is the same mistake as an empty constructor call."""
    frame = pd.DataFrame({"params": pd.Series([], dtype=float), "loss": pd.Series([], dtype=float)})
    with pytest.raises(DataError, match="no observations") as exc:
        ScalingData.from_frame(frame)
    assert exc.value.field == "loss"


def test_duplicate_rows_are_a_warning_not_an_error() -> None:
    """Repeated runs are legal (seeds) but often an export mistake, so they are surfaced."""
    data = ScalingData({"params": [1e7, 1e8, 1e7, 1e7]}, [3.0, 2.5, 3.0, 3.0])
    assert len(data) == 4
    assert data.warnings == ("2 duplicate rows (rows 2, 3)",)


def test_a_numeric_column_that_varies_and_is_not_read_is_named(tmp_path: Path) -> None:
    """A context length under a name bayescale does not know would be fitted as repeats."""
    path = write_csv(
        tmp_path,
        ",params,context,seed,note,lr,run_id,const\n"
        "0,7,2,1,a,1e-3,1,5\n"
        "1,7,8,1,b,1e-3,1,5\n"
        "2,7,32,2,c,3e-3,2,5\n"
        "0,13,2,2,d,3e-3,2,5\n",
    )
    frame = pd.read_csv(path)
    frame["loss"] = [3.0, 2.6, 2.4, 2.9]
    data = ScalingData.from_frame(frame, run_col="run_id")
    # read: params, loss; the run column; an unnamed index; constants and text are no resource
    assert data.unused == ("context", "seed", "lr")
    assert data.subset(np.array([True, True, False, True])).unused == data.unused


def test_a_row_number_or_a_description_of_the_point_is_not_an_unused_input() -> None:
    """Width beside params describes the point; a row number is no resource."""
    frame = pd.DataFrame(
        {
            "row": [1, 2, 3, 4],
            "index": [0, 1, 2, 3],
            "width": [512, 512, 1024, 1024],
            "params": [1e7, 1e7, 1e8, 1e8],
            "loss": [3.0, 3.1, 2.5, 2.6],
        },
    )
    assert ScalingData.from_frame(frame).unused == ()
    # the same width column names rows apart once they are one point
    frame["params"] = 1e7
    assert ScalingData.from_frame(frame).unused == ("width",)
    # ... unless each is its own group
    frame["arch"] = ["a", "a", "b", "b"]
    assert ScalingData.from_frame(frame, group_col="arch").unused == ()
    # with no input at all every row is the same point
    assert unused_columns(pd.DataFrame({"c": [5.0, 7.0]}), {}) == ("c",)


def test_unused_columns_are_a_warning_of_every_fit() -> None:
    """Named once per fit, with what to do; nothing is refused."""
    from models.checks import check_data
    from models.config import resolve_config
    from models.diagnostics import Thresholds
    from models.families import get_family

    params = np.repeat(np.geomspace(1e7, 1e9, 3), 2)  # each size at two context lengths
    context = np.tile([1.0, 4.0], 3)
    frame = pd.DataFrame(
        {"params": params, "context": context, "loss": 2 + 9 * params**-0.1 + 0.1 / context}
    )
    data = ScalingData.from_frame(frame)
    config, _ = resolve_config(get_family("power_law", x="params"), 1)
    found = [w for w in check_data(data, config, Thresholds()) if w.code == "unused_columns"]
    assert len(found) == 1
    assert "'context'" in found[0].message and "as an input (params, data" in found[0].message
    assert "repeats of one measurement" in found[0].message
    wide = frame.assign(**{f"c{i}": context * (i + 2) for i in range(7)})
    (message,) = _found(ScalingData.from_frame(wide), "unused_columns")
    assert "'context', 'c0', 'c1', 'c2', 'c3' and 3 more take" in message
    read = ScalingData.from_frame(frame, {"data": "context"})
    assert not [w for w in check_data(read, config, Thresholds()) if w.code == "unused_columns"]


def _found(data: ScalingData, code: str, family: str = "power_law") -> list[str]:
    from models.checks import check_data
    from models.config import resolve_config
    from models.diagnostics import Thresholds
    from models.families import get_family

    config, _ = resolve_config(get_family(family, x="compute"), len(data.groups))
    return [w.message for w in check_data(data, config, Thresholds()) if w.code == code]


def test_a_training_log_without_a_run_column_is_named() -> None:
    """300+ checkpoints along steps at one setting, no run: named; a sweep or runs given are not."""
    from models import unmarked_checkpoints

    steps = np.arange(1, 401, dtype=float) * 100
    loss = 2.0 + 5.0 * steps**-0.3
    log = ScalingData({"steps": steps}, loss)
    assert unmarked_checkpoints(log) == {"all": 400}
    (message,) = _found(log, "checkpoints_without_run")
    assert "'all' (400 rows)" in message and "thinned to 30" in message
    # the same rows as one run, or fewer rows, or 400 settings of params at one step each: not
    assert unmarked_checkpoints(ScalingData({"steps": steps}, loss, run=["r"] * 400)) == {}
    assert unmarked_checkpoints(ScalingData({"steps": steps[:299]}, loss[:299])) == {}
    # 400 repeats at a handful of steps (seeds of a few runs' finals) are not a curve
    few = np.repeat([1e3, 2e3, 4e3, 8e3], 100)
    assert unmarked_checkpoints(ScalingData({"steps": few}, 2.0 + 5.0 * few**-0.3)) == {}
    sweep = ScalingData({"params": steps * 1e4, "steps": steps}, loss)
    assert unmarked_checkpoints(sweep) == {}
    # tokens seen is the axis when steps is not given; two groups are judged apart
    two = ScalingData(
        {"data": np.tile(steps, 2)}, np.tile(loss, 2), group=["a"] * 400 + ["b"] * 400
    )
    assert unmarked_checkpoints(two) == {"a": 400, "b": 400}
    # compute grows along the log with its tokens: still one curve per model size
    sizes = np.repeat([1e8, 2e8], 400)
    tokens = np.tile(steps, 2) * 1e6
    both = ScalingData(
        {"params": sizes, "data": tokens, "compute": 6 * sizes * tokens}, np.tile(loss, 2)
    )
    assert unmarked_checkpoints(both) == {"all": 800}


def test_a_loss_that_rises_with_scale_is_named_as_a_likely_score() -> None:
    """Accuracy uploaded as loss fits and converges; only this warning tells the user."""
    compute = np.tile(np.geomspace(1e18, 1e22, 8), 2)
    accuracy = 0.8 - 0.5 * (compute / 1e18) ** -0.2
    group = np.repeat(["a", "b"], 8)
    scored = ScalingData({"compute": compute}, accuracy, group=group)
    (message,) = _found(scored, "loss_rises")
    assert "loss rises with compute (rank correlation +1.00" in message
    assert "1 - accuracy" in message
    assert _found(ScalingData({"compute": compute}, 1 - accuracy, group=group), "loss_rises") == []


def test_a_local_rise_is_no_score() -> None:
    """A double-descent bump rises over part of the sweep; the whole still falls."""
    params = np.geomspace(1e6, 1e9, 30)
    loss = 2 + 30 * params**-0.2 + 1.5 * np.exp(-(np.log(params / 3e7) ** 2))
    data = ScalingData({"compute": 6 * params * 1e9}, loss)
    assert _found(data, "loss_rises") == []
    # label noise: loss rises 70-fold toward the interpolation peak, then levels off above it
    width = np.geomspace(10, 1000, 25)
    rise = 0.0014 * (0.094 / 0.0014) ** np.log10(width / 10)
    noisy = np.where(width <= 100, rise, 0.014 + 0.08 * (100 / width) ** 2)
    assert _found(ScalingData({"compute": width * 1e12}, noisy), "loss_rises") == []


def _example_frame(seed: int = 0) -> pd.DataFrame:
    """``bayescale example``'s table: params, data, loss and an architecture column."""
    from models.simulate import example_dataset

    data = example_dataset(seed)
    return pd.DataFrame({**data.inputs, "loss": data.loss, "architecture": data.group})


def test_a_group_column_not_named_is_named() -> None:
    """Four architectures fitted as one pooled curve would say nothing otherwise."""
    frame = _example_frame()
    data = ScalingData.from_frame(frame)
    assert data.pooled == ("architecture",)
    assert data.subset(np.arange(len(data)) < 60).pooled == ("architecture",)
    (message,) = _found(data, "pooled_curves")
    assert "'architecture' split the rows into curves" in message
    assert "as the group" in message and "as the run" in message
    assert ScalingData.from_frame(frame, group_col="architecture").pooled == ()
    # a few repeated points (a size trained twice, on two datasets) leave a label a curve
    again = frame.groupby("architecture").head(4).assign(loss=lambda f: f["loss"] * 1.01)
    assert ScalingData.from_frame(pd.concat([frame, again])).pooled == ("architecture",)
    # a label fixed by the given group (an arch id beside its name) is no further split
    frame["arch_id"] = frame["architecture"].str.upper()
    assert ScalingData.from_frame(frame, group_col="architecture").pooled == ()
    # a label that splits the given groups further is
    frame["width"] = np.where(np.arange(len(frame)) % 2, "narrow", "wide")
    assert ScalingData.from_frame(frame, group_col="architecture").pooled == ("width",)


def test_checkpoints_of_runs_not_named_are_named_unless_given_as_the_run() -> None:
    """A run column under another name; given as the run it is read, so not named."""
    from models.families import get_family
    from models.simulate import simulate_runs

    law = get_family("power_law", x="steps")
    steps = {"steps": np.geomspace(100, 10_000, 30)}
    runs, _ = simulate_runs(law, {"E": 2.0, "A": 5.0, "alpha": 0.3}, steps, n_runs=4, seed=1)
    frame = pd.DataFrame({**runs.inputs, "loss": runs.loss, "name": runs.run})
    assert ScalingData.from_frame(frame).pooled == ("name",)
    assert ScalingData.from_frame(frame, run_col="name").pooled == ()


def test_labels_that_are_no_curves_of_their_own_are_not_named() -> None:
    """Model names beside params, loss bins, identifiers, blanks, numbers, mixed sweeps."""
    frame = _example_frame()
    n = len(frame)
    size_names = pd.Series(frame["params"]).rank(method="dense").astype(int)
    frame["model"] = "m" + size_names.astype(str)  # one name per size, one size per name
    frame["colour"] = pd.cut(frame["loss"], 6, labels=list("abcdef")).astype(str)  # loss bins
    frame["row_id"] = [f"r{i}" for i in range(n)]  # an identifier: more than n/2 levels
    frame["blank"] = frame["architecture"].where(np.arange(n) > 0, "")
    frame["code"] = frame["architecture"].map({a: str(i) for i, a in enumerate(sorted(set(
        frame["architecture"]
    )))})  # fmt: skip
    assert ScalingData.from_frame(frame, group_col="architecture").pooled == ()
    assert pooled_columns(frame[["model", "colour", "row_id", "blank", "code"]],
                          {k: frame[k].to_numpy() for k in ("params", "data")},
                          frame["loss"].to_numpy()) == ()  # fmt: skip
    # a sweep id over several runs repeats every checkpoint: its levels are no curves
    steps = np.tile(np.geomspace(100, 10_000, 10), 6)
    sweep = np.repeat(["s1", "s2"], 30)  # three learning rates each
    lr = np.tile(np.repeat([1.0, 2.0, 3.0], 10), 2)
    loss = 2 + lr * steps**-0.3 + np.where(sweep == "s2", 0.1, 0.0)
    mixed = pd.DataFrame({"steps": steps, "loss": loss, "sweep": sweep})
    assert ScalingData.from_frame(mixed).pooled == ()


def test_same_inputs_in_different_groups_are_not_duplicates() -> None:
    """Two architectures at the same size and loss are distinct observations."""
    data = ScalingData({"params": [1e7, 1e7]}, [3.0, 3.0], group=["a", "b"])
    assert data.warnings == ()


# -- views --------------------------------------------------------------------------------------


def test_groups_are_sorted_and_group_index_points_into_them() -> None:
    """Group order defines the model's ``group`` coordinate and must not depend on row order."""
    data = ScalingData(
        {"params": [1, 2, 3, 4]}, [4, 3, 2, 1], group=["rwkv", "mamba", "rwkv", "gpt"]
    )
    assert data.groups == ["gpt", "mamba", "rwkv"]
    np.testing.assert_array_equal(data.group_index, [2, 1, 2, 0])
    assert data.group_index.dtype == np.int64


def test_subset_keeps_rows_groups_and_meta_aligned() -> None:
    """Fit-small / predict-large splits rely on subset keeping columns aligned."""
    frame = pd.DataFrame(
        {
            "params": [1e6, 1e7, 1e8, 1e9],
            "loss": [4.0, 3.0, 2.5, 2.0],
            "arch": ["a", "b", "a", "b"],
            "run": ["r0", "r1", "r2", "r3"],
        }
    )
    data = ScalingData.from_frame(frame, group_col="arch")
    part = data.subset(np.array([False, True, True, False]))
    np.testing.assert_array_equal(part.inputs["params"], [1e7, 1e8])
    np.testing.assert_array_equal(part.loss, [3.0, 2.5])
    assert part.group.tolist() == ["b", "a"]
    assert part.groups == ["a", "b"]
    assert part.meta is not None
    assert part.meta["run"].tolist() == ["r1", "r2"]
    assert part.meta.index.tolist() == [0, 1]


def test_default_scales_are_geometric_means_and_min_loss() -> None:
    """Model units divide by these; exponents stay unchanged and amplitudes become O(1)."""
    data = ScalingData(
        {"params": [1e6, 1e8], "data": [2.0, 8.0], "label_noise": [0.0, 0.3]}, [3.0, 2.0]
    )
    scales = data.default_scales(("params", "data", "label_noise"))
    assert isinstance(scales, Scales)
    assert scales.inputs["params"] == pytest.approx(1e7, rel=1e-12)
    assert scales.inputs["data"] == pytest.approx(4.0, rel=1e-12)
    assert scales.inputs["label_noise"] == 1.0
    assert scales.loss == 2.0


def test_default_scales_only_cover_requested_inputs() -> None:
    """A family that reads one input gets one scale, whatever else the data holds."""
    scales = small().default_scales(("data",))
    assert set(scales.inputs) == {"data"}


def test_scales_json_round_trip() -> None:
    """Scales are persisted with every fit."""
    scales = small().default_scales(("params", "data"))
    assert Scales.from_dict(scales.to_dict()) == scales


def test_log_ranges_are_min_and_max_of_log_input() -> None:
    """Predictions use these to label extrapolation."""
    data = small()
    ranges = data.log_ranges(("params", "data"))
    assert ranges["params"] == pytest.approx((np.log(1e7), np.log(1e9)))
    assert ranges["data"] == pytest.approx((np.log(2e8), np.log(2e10)))
    # and the product N*D, the budget axis
    product = np.log(data.inputs["params"]) + np.log(data.inputs["data"])
    assert ranges["params*data"] == pytest.approx((product.min(), product.max()))


def test_log_ranges_with_zero_label_noise_does_not_warn() -> None:
    """Zero label noise is valid data; it is a fraction, not a scale to extrapolate along."""
    data = small(label_noise=[0.0, 0.1, 0.2])
    ranges = data.log_ranges(("params", "label_noise"))
    assert set(ranges) == {"params"} and np.isfinite(ranges["params"]).all()


def test_digest_is_equal_for_equal_data() -> None:
    """Equal data must hash equally so fits and caches can be matched to their data."""
    a = ScalingData({"params": N, "data": D}, LOSS, group=["x", "y", "x"])
    b = ScalingData({"data": np.array(D), "params": np.array(N)}, np.array(LOSS), ["x", "y", "x"])
    assert a.digest() == b.digest()


@pytest.mark.parametrize(
    "change",
    ["params", "data", "loss", "group"],
)
def test_digest_changes_when_one_value_changes(change: str) -> None:
    """Any single changed value, loss or group label must change the hash."""
    base = {"params": list(N), "data": list(D), "loss": list(LOSS), "group": ["x", "y", "x"]}
    other = {k: list(v) for k, v in base.items()}
    other[change][1] = "z" if change == "group" else other[change][1] * 1.0000001
    a = ScalingData({"params": base["params"], "data": base["data"]}, base["loss"], base["group"])
    b = ScalingData(
        {"params": other["params"], "data": other["data"]}, other["loss"], other["group"]
    )
    assert a.digest() != b.digest()


def test_require_passes_when_inputs_present() -> None:
    """A family whose inputs are all present proceeds silently."""
    small().require(("params", "data"), "chinchilla")


def test_require_names_missing_input_and_family() -> None:
    """Fitting chinchilla to a size-only sweep must say exactly what is missing."""
    data = ScalingData({"params": N}, LOSS)
    with pytest.raises(
        DataError, match="family 'chinchilla' needs input\\(s\\) data; the data has params"
    ) as exc:
        data.require(("params", "data"), "chinchilla")
    assert exc.value.field == "data"


def test_guess_columns_finds_the_canonical_fields_and_an_architecture_column():
    """`bayescale example` writes `architecture`; a run id (all distinct) is no group."""
    import pandas as pd

    from models.data import guess_columns

    frame = pd.DataFrame(
        {
            "run": ["r1", "r2", "r3", "r4"],
            "params": [1e6, 2e6, 1e6, 2e6],
            "loss": [3.0, 2.8, 3.1, 2.9],
            "architecture": ["a", "a", "b", "b"],
        }
    )
    assert guess_columns(frame) == {
        "params": "params",
        "loss": "loss",
        "run": "run",  # a column named run is the run field (its checkpoints share an effect)
        "group": "architecture",
    }
    with_group = frame.assign(group=["x", "x", "y", "y"])
    assert guess_columns(with_group)["group"] == "group"
    assert "group" not in guess_columns(frame.drop(columns="architecture"))


def test_pooled_columns_read_json_metadata_of_any_type() -> None:
    """The service's rows carry free-form JSON metadata: objects, lists, booleans, nulls."""
    n = 40
    params = np.tile(np.geomspace(1e7, 1e9, 10), 4)
    loss = 2 + 9 * params**-0.1 * np.repeat([1.0, 1.1, 1.2, 1.3], 10)
    meta = pd.DataFrame(
        [
            {
                "obj": {"a": i % 4},
                "list": [i % 4],
                "flag": bool(i % 2),
                "mixed": i if i % 2 else "x",
                "null": None,
                "arch": "abcd"[i // 10],
            }
            for i in range(n)
        ]
    )
    assert pooled_columns(meta, {"params": params}, loss) == ("arch",)


def test_a_refusal_for_missing_inputs_names_the_columns_that_could_be_one() -> None:
    """A training log with ``step`` (not ``steps``) reads no input; the error says which."""
    import models

    steps = np.arange(1, 41) * 100
    frame = pd.DataFrame({"step": steps, "loss": 2 + 30 * steps**-0.3, "lr": 1e-3 / steps})
    data = ScalingData.from_frame(frame)
    for family in ("auto", "power_law"):
        with pytest.raises(DataError, match="'step', 'lr' vary but were read as metadata"):
            models.validate_fit(data, family)
    assert data.unused_hint().endswith("map one to an input (" + ", ".join(models.INPUTS) + ")")
    assert ScalingData.from_frame(frame, {"steps": "step"}).unused_hint() == ""


def test_counts_with_a_magnitude_suffix_are_read_as_numbers() -> None:
    """Model sizes written as "125m" or "1.3B" (OPT's trajectories) are counts, not text."""
    frame = pd.DataFrame(
        {"size": ["125m", "1.3B", "13b", "2T", ".5k"], "loss": [3.0, 2.5, 2.2, 2.0, 4.0]}
    )
    data = ScalingData.from_frame(frame, {"params": "size"})
    assert data.inputs["params"].tolist() == [1.25e8, 1.3e9, 1.3e10, 2e12, 500.0]
    # only counts: a loss or a label-noise fraction with a suffix is refused, naming the rows
    with pytest.raises(DataError, match="'loss' is not a number in 1 row"):
        ScalingData.from_frame(frame.assign(loss=["3", "2.5", "2m", "2", "4"]), {"params": "size"})
    noisy = frame.assign(label_noise=["1k"] * 5)
    with pytest.raises(DataError, match="'label_noise' is not a number"):
        ScalingData.from_frame(noisy, {"params": "size"})
    with pytest.raises(DataError, match="'params' is not a number in 1 row"):
        ScalingData.from_frame(
            frame.assign(size=["125m", "1.3B", "13 bn", "2T", "1k"]), {"params": "size"}
        )
