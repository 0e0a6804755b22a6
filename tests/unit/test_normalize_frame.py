"""The frame and timestamp builders behind normalize(): no dtype inference, with or without
pandas' fast paths."""

import numpy as np
import pandas as pd
import pytest
from pandas.arrays import DatetimeArray

from pelcro_sync.transform import normalize as nz


@pytest.mark.parametrize("fast", [True, False], ids=["from_arrays", "public_constructor"])
def test_frame_keeps_object_text_and_extension_dtypes(
    monkeypatch: pytest.MonkeyPatch, fast: bool
) -> None:
    if not fast:
        monkeypatch.delattr(pd.DataFrame, "_from_arrays")
    text = nz._object_array(["a", None, "c"])
    flags, _ = nz._cast_boolean([True, None, False])
    frame = nz._frame({"id": np.array([1, 2, 3]), "name": text, "flag": flags}, 3)
    assert frame["name"].dtype == object
    assert frame["name"].tolist() == ["a", None, "c"]
    assert str(frame["flag"].dtype) == "boolean"
    assert frame["flag"].isna().tolist() == [False, True, False]
    assert list(frame.index) == [0, 1, 2]


@pytest.mark.parametrize("fast", [True, False], ids=["simple_new", "pd_array"])
def test_stamps_are_utc_microseconds_with_or_without_pandas_fast_path(
    monkeypatch: pytest.MonkeyPatch, fast: bool
) -> None:
    if not fast:
        monkeypatch.delattr(DatetimeArray, "_simple_new")
    stamps = nz._stamps(np.array([0, nz.NAT, 1_616_245_118_250_000]))
    assert str(stamps.dtype) == "datetime64[us, UTC]"
    assert stamps.isna().tolist() == [False, True, False]
    assert stamps[2] == pd.Timestamp("2021-03-20 12:58:38.25", tz="UTC")
