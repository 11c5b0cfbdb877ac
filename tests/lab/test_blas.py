"""The training process's BLAS threads: two for the large products, one inside the time loops."""

import pytest

from rnnviz.lab.blas import blas_controllers, engine_blas_threads, one_blas_thread_context


@pytest.mark.parametrize(
    "cpus, steerable, expected",
    [(1, True, (1, False)), (2, True, (2, True)), (2, False, (1, False)), (4, True, (2, False))],
)
def test_blas_threads_of_the_training_process(cpus, steerable, expected):
    # on 2 cores: two threads with the time loops on one, if the thread count can be changed at run time
    assert engine_blas_threads(cpus, steerable) == expected


def test_the_loop_context_runs_the_time_loops_on_one_blas_thread_and_restores_the_count():
    pytest.importorskip("threadpoolctl")
    blas = blas_controllers()
    if not blas:
        pytest.skip("no BLAS library that threadpoolctl can steer")
    before = [c.num_threads for c in blas]
    context = one_blas_thread_context()
    with context():
        assert [c.num_threads for c in blas] == [1] * len(blas)
    assert [c.num_threads for c in blas] == before
