"""``rnnviz walkthrough``: every number of one training iteration of a small model, as text or CSV.

    rnnviz walkthrough                          # the toy preset: 'the king sits on throne', 5-unit RNN
    rnnviz walkthrough toy.npz --steps 3 --csv toy.csv

For the first sequence of the preset's (or the checkpoint's) data, with the weights as they are: the
forward pass step by step, the loss, the backward sweep step by step, the accumulated gradients,
clipping and the update the run's optimizer would make (not applied; the file is not changed). The
numbers are the engine's own (``lab.walkthrough``); the text and CSV layouts are ``lab.walkthrough_text``'s.
"""

from __future__ import annotations

import csv
import sys
from contextlib import nullcontext

from rnnviz.lab.presets import apply_preset
from rnnviz.lab.walkthrough import MAX_UNITS, WalkthroughRefused, build_walkthrough
from rnnviz.lab.walkthrough_text import csv_rows, format_text

EXIT_OK, EXIT_INPUT = 0, 2


def add_walkthrough_parser(sub) -> None:
    p = sub.add_parser(
        "walkthrough",
        help=f"print every forward and backward number of one iteration of a small model (<= {MAX_UNITS} units)",
        description="Print every number of one training iteration (forward step by step, loss, backward step by "
        "step, gradients, clipping, update) for the first sequence of a preset's or a checkpoint's data, with the "
        f"weights as they are. For one-layer language models of at most {MAX_UNITS} hidden units. Default: "
        "--preset toy.",
    )
    p.add_argument("checkpoint", metavar="CHECKPOINT", nargs="?", help="a checkpoint of a small model")
    p.add_argument("--preset", default=None, metavar="NAME", help="a preset's new model instead (default: toy)")
    p.add_argument("--steps", type=int, default=None, metavar="N", help="only the first N time steps of the sequence")
    p.add_argument("--csv", default=None, metavar="FILE", help="also write every number as rows t,quantity,index,value")


def run_walkthrough(args) -> int:
    from rnnviz.cli import InputError
    from rnnviz.training import TrainConfig, Trainer, load_trainer

    if args.checkpoint and args.preset:
        raise InputError("give a checkpoint or --preset, not both")
    if args.steps is not None and args.steps < 1:
        raise InputError(f"--steps must be at least 1, not {args.steps}")
    if args.checkpoint:
        trainer, what = load_trainer(args.checkpoint), args.checkpoint
    else:
        name = args.preset or "toy"
        trainer, what = Trainer(apply_preset(name, TrainConfig())), f"preset {name}"
    x, y = trainer.first_sequence()  # from zeros: the first sequence carries no state
    if args.steps is not None:
        x, y = x[: args.steps], y[: args.steps]
    vocab = trainer.task.spec.vocab
    try:
        w = build_walkthrough(
            trainer.params, trainer.model_cfg, x, y, clip=trainer.clip, optimizer=trainer.opt,
            labels=None if vocab is None else vocab.labels(),
        )  # fmt: skip
    except WalkthroughRefused as e:
        raise InputError(f"{what}: {e}") from None
    # the CSV file is opened first: a path that cannot be written fails (cli.main says why) before
    # pages of numbers scroll its message out of sight
    with open(args.csv, "w", newline="", encoding="utf-8") if args.csv else nullcontext() as f:
        sys.stdout.write(format_text(w, title=f"Walkthrough of one training iteration of {what}"))
        if f is not None:
            rows = csv_rows(w)
            csv.writer(f).writerows(rows)
            print(f"wrote {len(rows) - 1:,} numbers to {args.csv}", file=sys.stderr)
    return EXIT_OK
