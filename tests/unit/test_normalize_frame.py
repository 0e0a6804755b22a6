"""The frame builder behind normalize(): no dtype inference, with or without pandas' fast path."""

import numpy as np
import pandas as pd
import pytest

from pelcro_sync import normalize as nz


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
