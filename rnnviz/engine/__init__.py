"""The pure-NumPy engine: cells, model, optimizers, clipping, checkpoints, gradient check. Never imports Qt."""
