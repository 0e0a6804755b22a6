"""A scan collects cycles less often, and overlapping scans restore the setting once."""

import gc

from pelcro_sync import scan


def test_overlapping_scans_raise_the_threshold_and_the_last_one_out_restores_it():
    before = gc.get_threshold()
    first, second = scan._fewer_collections(), scan._fewer_collections()
    first.__enter__()
    assert gc.get_threshold()[0] == max(scan.SCAN_GC_THRESHOLD, before[0])
    second.__enter__()
    first.__exit__(None, None, None)  # the other scan still runs
    assert gc.get_threshold()[0] == max(scan.SCAN_GC_THRESHOLD, before[0])
    second.__exit__(None, None, None)
    assert gc.get_threshold() == before
