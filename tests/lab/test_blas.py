"""The training process's BLAS threads: one, and two for the large products."""

import pytest

from rnnviz.lab.blas import blas_controllers, engine_blas_threads, narrow_blas


@pytest.mark.parametrize(
    "cpus, steerable, expected",
    [(1, True, (1, False)), (2, True, (2, True)), (2, False, (1, False)), (4, True, (2, False))],
)
def test_blas_threads_of_the_training_process(cpus, steerable, expected):
    # on 2 cores: two threads, used only by the large products, if the count can be changed at run time
    assert engine_blas_threads(cpus, steerable) == expected


def test_narrow_blas_puts_blas_on_one_thread_and_gives_the_large_products_two():
    pytest.importorskip("threadpoolctl")
    blas = blas_controllers()
    if not blas:
        pytest.skip("no BLAS library that threadpoolctl can steer")
    before = [c.num_threads for c in blas]
    try:
        for c in blas:  # as the app starts its training process on 2 cores (tests run on one thread)
            c.set_num_threads(2)
        if [c.num_threads for c in blas] != [2] * len(blas):
            pytest.skip("this BLAS cannot be given a second thread here")
        wide = narrow_blas()
        assert [c.num_threads for c in blas] == [1] * len(blas)  # from now on, outside the products
        with wide():
            assert [c.num_threads for c in blas] == [2] * len(blas)
        assert [c.num_threads for c in blas] == [1] * len(blas)
        with pytest.raises(RuntimeError), wide():
            raise RuntimeError("a product failed")
        assert [c.num_threads for c in blas] == [1] * len(blas)  # one again after an error inside
    finally:  # this test's process goes on with the threads it had
        for c, n in zip(blas, before, strict=True):
            c.set_num_threads(n)
