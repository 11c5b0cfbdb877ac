"""Training runs: configuration, the step-at-a-time trainer, evaluation and checkpoints.

Pure Python + NumPy (never imports Qt): the command line and the app's training process both drive it.
"""

from rnnviz.training.checkpointing import SavedModel, load_model, load_trainer, save_trainer
from rnnviz.training.config import TASK_TITLES, TASKS, TrainConfig, build_task, model_config, optim_config
from rnnviz.training.evaluation import EvalReport, evaluate_batches
from rnnviz.training.trainer import StepReport, Trainer, iter_training

__all__ = [
    "TASKS",
    "TASK_TITLES",
    "EvalReport",
    "SavedModel",
    "StepReport",
    "TrainConfig",
    "Trainer",
    "build_task",
    "evaluate_batches",
    "iter_training",
    "load_model",
    "load_trainer",
    "model_config",
    "optim_config",
    "save_trainer",
]
