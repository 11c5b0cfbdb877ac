"""The ``rnnviz`` command: the app by default, subcommands for headless work.

    rnnviz                     open the app on the bundled Tiny Shakespeare
    rnnviz FILE                open the app on FILE
    rnnviz train [CORPUS] ...  train from the command line (progress bar, checkpoints, Ctrl-C saves)
    rnnviz compare ...         train runs A and B in lockstep, differing in one setting; CSV of both
    rnnviz presets             the lessons' presets (for --preset NAME)
    rnnviz generate CKPT ...   sample text from a trained language model
    rnnviz eval CKPT [CORPUS]  loss and perplexity (accuracy and confusion matrix for classification)
    rnnviz serve CKPT          serve a model over HTTP: generate, predict, its info and history
    rnnviz gradcheck ...       compare the engine's gradients with finite differences
    rnnviz walkthrough ...     every forward and backward number of one iteration of a small model

Exit codes: 0 done; 1 stopped by the numbers (a training step went NaN/infinite, a gradient check
failed, a checkpoint's model or its loss is not finite); 2 bad input (a file that cannot be used, a bad
option), with a one-line message and no traceback; 130 interrupted with Ctrl-C (training saves a
checkpoint first).

This module imports no Qt: the app is imported only when it is started.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys

import numpy as np

from rnnviz import __version__
from rnnviz.cli_compare import add_compare_parser, run_compare, run_presets
from rnnviz.cli_serve import add_serve_parser, run_serve
from rnnviz.cli_train import add_train_parser, run_train
from rnnviz.cli_walkthrough import add_walkthrough_parser, run_walkthrough
from rnnviz.corpus import CorpusError, LMCorpus, load_text
from rnnviz.engine.cells import CELLS
from rnnviz.engine.checkpoint import CheckpointError
from rnnviz.engine.config import HEADS

EXIT_OK, EXIT_NUMBERS, EXIT_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
SUBCOMMANDS = ("train", "compare", "presets", "generate", "eval", "serve", "gradcheck", "walkthrough")


class InputError(Exception):
    """A problem with what the user gave us; its message is shown as is (exit code 2)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rnnviz",
        description="Watch a from-scratch NumPy RNN, LSTM or GRU learn. Without a subcommand, opens the app "
        "(on FILE if given, else on the bundled Tiny Shakespeare).",
        epilog="Exit codes: 0 done, 1 a step, a model or its loss went NaN/infinite or a gradient check failed, "
        "2 bad input, 130 interrupted with Ctrl-C. 'rnnviz SUBCOMMAND --help' explains each subcommand.",
    )
    parser.add_argument("--version", action="version", version=f"rnnviz {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="SUBCOMMAND")
    add_train_parser(sub)
    add_compare_parser(sub)
    sub.add_parser("presets", help="list the lessons' presets", description="The presets --preset NAME accepts.")

    gen = sub.add_parser(
        "generate",
        help="sample text from a trained language model",
        description="Sample text from a language-model checkpoint and print it.",
    )
    gen.add_argument("checkpoint", metavar="CKPT", help="a checkpoint written by 'rnnviz train' or the app")
    gen.add_argument("--prime", default=None, help="text to start from (default: a new line, if the model knows it)")
    gen.add_argument("--length", type=int, default=500, help="tokens to generate (default 500)")
    gen.add_argument(
        "--temperature",
        type=float,
        default=1.0,
        help="randomness: 0 always takes the most likely token, 1 samples as trained, >1 is wilder",
    )
    gen.add_argument("--top-k", type=int, default=0, help="sample only among the k most likely tokens (0: all)")
    gen.add_argument("--seed", type=int, default=None, help="random seed (default: a new one every run)")

    ev = sub.add_parser(
        "eval",
        help="loss and perplexity of a checkpoint on a corpus",
        description="Evaluate a checkpoint: loss and perplexity for language models, accuracy and "
        "confusion matrix for classifiers. Without CORPUS, uses the run's own validation data.",
    )
    ev.add_argument("checkpoint", metavar="CKPT")
    ev.add_argument("corpus", metavar="CORPUS", nargs="?", help="a text file (language model) or a names folder")

    add_serve_parser(sub)

    gc = sub.add_parser(
        "gradcheck",
        help="check the engine's gradients against finite differences",
        description="Compare analytic BPTT gradients with central finite differences (float64) "
        "for small random networks; prints the worst relative error. Exit code 1 above --tolerance.",
    )
    gc.add_argument("--cell", choices=[*CELLS, "all"], default="all")
    gc.add_argument("--head", choices=[*HEADS, "all"], default="all")
    gc.add_argument("--layers", type=int, choices=[1, 2, 3], default=None, help="default: 1 and 2")
    gc.add_argument("--tolerance", type=float, default=1e-6)
    gc.add_argument("--seed", type=int, default=0)
    add_walkthrough_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or (argv[0] not in SUBCOMMANDS and not argv[0].startswith("-")):
        return run_app(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_OK
    try:
        run = {
            "train": run_train, "compare": run_compare, "presets": run_presets, "generate": run_generate,
            "eval": run_eval, "serve": run_serve, "gradcheck": run_gradcheck, "walkthrough": run_walkthrough,
        }[args.command]  # fmt: skip
        return run(args)
    except (InputError, CorpusError, CheckpointError, ValueError) as e:
        print(f"rnnviz {args.command}: error: {e}", file=sys.stderr)
        # a model that went NaN or infinite is a matter of numbers, not of a bad file
        return EXIT_NUMBERS if isinstance(e, CheckpointError) and e.kind == "not_finite" else EXIT_INPUT
    except OSError as e:  # a file that cannot be written or read: the user's to fix, not a crash
        print(
            f"rnnviz {args.command}: error: {e.strerror + ': ' + str(e.filename) if e.filename else e}", file=sys.stderr
        )
        return EXIT_INPUT
    except KeyboardInterrupt:
        print(f"\nrnnviz {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def run_app(argv: list[str]) -> int:
    """Start the GUI (imported only now, so the subcommands never load Qt)."""
    if len(argv) > 1:
        print(
            "rnnviz: error: the app opens one file at a time; for the subcommands see 'rnnviz --help'", file=sys.stderr
        )
        return EXIT_INPUT
    problem = no_display_problem(os.environ, sys.platform)
    if problem:
        print(f"rnnviz: error: {problem}", file=sys.stderr)
        return EXIT_INPUT
    from rnnviz.gui.app import run

    return run(argv[0] if argv else None)


def no_display_problem(env, platform: str) -> str | None:
    """Why the app cannot open a window here, or None.

    On Linux without an X11 or Wayland display, Qt aborts the process (SIGABRT) with a message about
    missing xcb libraries, which sends people after the wrong fix; this says what is really missing.
    """
    if not platform.startswith("linux") or env.get("QT_QPA_PLATFORM"):
        return None
    if env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        return None
    return (
        "there is no display to open the window on (neither DISPLAY nor WAYLAND_DISPLAY is set). Start "
        "rnnviz from a desktop session (over ssh: ssh -X), or train without a window: rnnviz train --help."
    )


def run_generate(args) -> int:
    from rnnviz.engine.infer import generate
    from rnnviz.training import load_model
    from rnnviz.training.generation import encode_prime, full_text

    saved = load_model(args.checkpoint)
    if saved.model_cfg.head != "lm" or saved.vocab is None:
        raise InputError(f"{args.checkpoint} is a {saved.model_cfg.head} model; only language models generate text.")
    if not args.temperature >= 0:  # (NaN compares false)
        raise InputError(f"--temperature must be a number >= 0, not {args.temperature}.")
    if args.length < 0 or args.top_k < 0:
        raise InputError("--length and --top-k must not be negative.")
    vocab = saved.vocab
    try:
        ids, unknown = encode_prime(vocab, args.prime or "")
    except ValueError as err:
        raise InputError(f"{err}; try --prime with ordinary text.") from None
    if unknown:
        print(
            f"rnnviz generate: note: the model has never seen {', '.join(map(repr, unknown))}; left out of the prime",
            file=sys.stderr,
        )
    rng = np.random.default_rng(args.seed)
    out = generate(saved.params, saved.model_cfg, ids, args.length, rng, args.temperature, args.top_k or None)
    text = full_text(vocab, ids, out)
    sys.stdout.write(text + ("" if text.endswith("\n") else "\n"))
    return EXIT_OK


def run_eval(args) -> int:
    from rnnviz.training import Trainer, evaluate_batches, load_model
    from rnnviz.training.checkpointing import check_same_vocabulary

    saved = load_model(args.checkpoint)
    cfg = saved.train_config
    if args.corpus and cfg.task == "lm":
        loaded = load_text(args.corpus)
        unknown = saved.vocab.unknown(loaded.text)
        ids = saved.vocab.encode(loaded.text)
        if unknown:
            shown = ", ".join(map(repr, unknown[:10])) + (" ..." if len(unknown) > 10 else "")
            print(
                f"rnnviz eval: note: {len(unknown)} token kinds the model never saw ({shown}) were "
                f"{'mapped to <unk>' if saved.vocab.unk_id is not None else 'left out'}",
                file=sys.stderr,
            )
        # the whole text, once, as contiguous streams (the state carries from chunk to chunk)
        task = LMCorpus(
            ids, saved.vocab, seq_len=cfg.seq_len, batch_size=cfg.batch_size, val_fraction=0.0, source=loaded.name
        )
        batches = itertools.islice(task.train_batches(np.random.default_rng(0)), task.batches_per_epoch)
        what = f"{loaded.name} (all of it)"
    else:
        trainer = Trainer(cfg if args.corpus is None else cfg.replace(corpus=args.corpus))
        spec = trainer.task.spec
        check_same_vocabulary(saved.vocab, spec.vocab, os.path.basename(args.checkpoint), args.corpus or "the data")
        if tuple(spec.class_names) != saved.class_names:
            raise InputError(f"{args.corpus} has other classes than the model ({', '.join(saved.class_names)}).")
        batches = (
            trainer.task.val_batches() if args.corpus is None or cfg.task != "classify" else trainer.task.all_batches()
        )
        what = "the validation data" if args.corpus is None else f"{args.corpus}"
    report = evaluate_batches(saved.params, saved.model_cfg, batches)
    if report is None:
        raise InputError(f"there is nothing to evaluate in {what} (too short for one sequence?)")
    if not np.isfinite(report.loss):  # finite weights whose numbers overflow on this data
        print(
            f"rnnviz eval: error: the model's loss on {what} is not finite ({report.loss}): its numbers overflow "
            "(weights this large cannot be evaluated; an earlier checkpoint may).",
            file=sys.stderr,
        )
        return EXIT_NUMBERS
    print(f"evaluated on {what}: {report.count:,} {'names' if cfg.task == 'classify' else 'tokens'}")
    print(f"loss {report.loss:.4f}")
    if report.perplexity is not None:
        print(f"perplexity {report.perplexity:.3f}")
    if report.accuracy is not None:
        print(f"accuracy {report.accuracy:.1%}")
        print(format_confusion(report.confusion, saved.class_names))
    return EXIT_OK


def format_confusion(confusion: np.ndarray, names: tuple[str, ...]) -> str:
    """A text table: rows are the true class, columns the predicted one."""
    short = [n[:4] for n in names]
    width = max(5, *(len(str(v)) for v in confusion.reshape(-1))) + 1
    corner = "true \\ predicted"
    label = max(len(corner), *(len(n[:11]) for n in names)) + 1  # the first column fits the corner and names
    head = corner.ljust(label) + "".join(s.rjust(width) for s in short)
    rows = [
        n[:11].ljust(label) + "".join(str(v).rjust(width) for v in row) for n, row in zip(names, confusion, strict=True)
    ]
    return "\n".join([head, *rows])


def run_gradcheck(args) -> int:
    from rnnviz.engine.gradcheck import CELLS, HEADS, combinations, gradcheck, small_config

    cells = CELLS if args.cell == "all" else (args.cell,)
    heads = HEADS if args.head == "all" else (args.head,)
    worst, worst_where = 0.0, ""
    for cell, head, layers, inp in combinations(cells, heads, (args.layers,) if args.layers else (1, 2)):
        cfg = small_config(cell, head, layers, inp, dropout=0.3 if layers > 1 else 0.0)
        report = gradcheck(cfg, rng=np.random.default_rng(args.seed))
        where = f"{cell} {head} {layers} layer{'s' if layers > 1 else ''} {inp}"
        print(f"{where:<34} worst relative error {report.worst:.2e} ({report.worst_name})")
        if report.worst > worst:
            worst, worst_where = report.worst, where
    ok = worst < args.tolerance
    print(
        f"worst relative error {worst:.2e} ({worst_where}): {'OK' if ok else 'FAILED'} (tolerance {args.tolerance:g})"
    )
    return EXIT_OK if ok else EXIT_NUMBERS


if __name__ == "__main__":
    sys.exit(main())
