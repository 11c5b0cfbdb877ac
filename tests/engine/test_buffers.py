"""The buffer pool never hands out an array that something still holds, and does reuse released ones."""

import numpy as np

from rnnviz.engine.buffers import MIN_BYTES, BufferPool
from rnnviz.engine.config import ModelConfig, init_params
from rnnviz.engine.optim import OptimConfig, Optimizer
from rnnviz.engine.runtime import Runtime
from rnnviz.engine.step import train_step

SHAPE = (MIN_BYTES // 8 + 16,)


def test_released_arrays_are_reused_and_held_ones_are_not():
    pool = BufferPool()
    a = pool.empty(SHAPE, np.float64)
    a_id = id(a)
    del a
    b = pool.empty(SHAPE, np.float64)
    assert id(b) == a_id and pool.reused == 1  # released: handed out again
    c = pool.empty(SHAPE, np.float64)
    assert c is not b  # b is held: a different array
    view = c[10:20]
    del c
    d = pool.empty(SHAPE, np.float64)
    assert d.base is None and not np.shares_memory(d, view)  # a view keeps its base out of the pool


def test_frozen_arrays_come_back_writable_only_once_released():
    pool = BufferPool()
    a = pool.empty(SHAPE, np.float64)
    a.setflags(write=False)
    del a
    b = pool.empty(SHAPE, np.float64)
    assert b.flags.writeable


def test_a_trace_held_across_steps_is_never_overwritten():
    cfg = ModelConfig(cell="gru", vocab_size=11, hidden_size=64, dtype="float32")
    params = init_params(cfg, np.random.default_rng(0))
    opt = Optimizer(OptimConfig())
    rng = np.random.default_rng(1)
    pool = BufferPool()
    x, y = rng.integers(0, 11, (16, 32)), rng.integers(0, 11, (16, 32))
    held = train_step(params, cfg, opt, x, y, runtime=Runtime(pool=pool)).fp  # kept, like a trace on its way to the app
    snapshot = held.layers[0].hs.copy()
    for _ in range(5):
        train_step(params, cfg, opt, rng.integers(0, 11, (16, 32)), y, runtime=Runtime(pool=pool))
    np.testing.assert_array_equal(held.layers[0].hs, snapshot)
    assert pool.reused > 0  # and the steps that were not held did share their buffers
