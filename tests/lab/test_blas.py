"""The training process's BLAS threads: one, and two for the large products."""

import pytest

from rnnviz.lab.blas import blas_controllers, engine_blas_threads, widening_context


@pytest.mark.parametrize(
    "cpus, steerable, expected",
    [(1, True, (1, False)), (2, True, (2, True)), (2, False, (1, False)), (4, True, (2, False))],
)
def test_blas_threads_of_the_training_process(cpus, steerable, expected):
    # on 2 cores: two threads, used only by the large products, if the count can be changed at run time
    assert engine_blas_threads(cpus, steerable) == expected


def test_the_widening_context_puts_blas_on_one_thread_and_gives_the_large_products_the_rest():
    pytest.importorskip("threadpoolctl")
    blas = blas_controllers()
    if not blas:
        pytest.skip("no BLAS library that threadpoolctl can steer")
    before = [c.num_threads for c in blas]
    try:
        wide = widening_context()
        assert [c.num_threads for c in blas] == [1] * len(blas)  # from now on, outside the products
        with wide():
            assert [c.num_threads for c in blas] == before
        assert [c.num_threads for c in blas] == [1] * len(blas)
    finally:  # this test's process goes on with the threads it had
        for c, n in zip(blas, before, strict=True):
            c.set_num_threads(n)
