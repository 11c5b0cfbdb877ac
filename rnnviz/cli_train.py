"""``rnnviz train``: training from the command line, with a progress bar, validation and checkpoints.

Ctrl-C (or SIGTERM) finishes the current step, saves a checkpoint and exits with code 130; a second
Ctrl-C stops at once. A step that goes NaN or infinite is not applied: training stops, the last good
weights are saved and the exit code is 1.
"""

from __future__ import annotations

import math
import os
import signal
import sys
import time
from pathlib import Path

from rnnviz.engine.clipping import ClipConfig
from rnnviz.lab.presets import apply_preset
from rnnviz.training import TrainConfig, Trainer, load_trainer, save_trainer
from rnnviz.training.config import SETTINGS
from rnnviz.training.settings import GROUPS

RESUME_FIELDS = tuple(name for name, s in SETTINGS.items() if s.resume)  # lr, clip

EXIT_OK, EXIT_NUMBERS, EXIT_INTERRUPTED = 0, 1, 130


def add_train_parser(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train a network from the command line",
        description="Train a network and save checkpoints. CORPUS is a text file (task lm; default: the bundled "
        "Tiny Shakespeare) or a folder of <Class>.txt files with one name per line (task classify; default: the "
        "bundled surnames). Ctrl-C saves a checkpoint and stops.",
    )
    p.add_argument("corpus", metavar="CORPUS", nargs="?", help="text file or names folder (see above)")
    add_preset_argument(p)
    add_setting_arguments(p)
    g = p.add_argument_group("run")
    length = g.add_mutually_exclusive_group()
    length.add_argument("--steps", type=int, default=None, help="train until this step (default 1000)")
    length.add_argument("--epochs", type=float, default=None, help="train for this many passes over the data")
    g.add_argument("--out", default=None, help="checkpoint file (default: <corpus>-<cell>.npz in this folder)")
    g.add_argument(
        "--resume",
        default=None,
        metavar="CKPT",
        help="continue a run from its checkpoint (its settings are used, except "
        + " and ".join(SETTINGS[n].flag for n in RESUME_FIELDS)
        + "; --steps/--epochs are totals)",
    )
    g.add_argument("--eval-every", type=int, default=200, help="validation every so many steps (0: only at the end)")
    g.add_argument("--save-every", type=int, default=500, help="checkpoint every so many steps (0: only at the end)")
    g.add_argument("--quiet", action="store_true", help="no progress bar")


def add_preset_argument(parser) -> None:
    parser.add_argument(
        "--preset", default=None, metavar="NAME",
        help="start from a lesson's settings ('rnnviz presets' lists them); options given too override them",
    )  # fmt: skip


def add_setting_arguments(parser) -> None:
    """One option per declared TrainConfig setting that has a flag (``training.config``), in its group.

    Every option defaults to None, meaning "not given": ``config_from_args`` then takes the config's
    default, and a resumed run keeps its own value.
    """
    defaults = TrainConfig()
    groups = {name: parser.add_argument_group(name) for name in GROUPS}
    for name, s in SETTINGS.items():
        if s.flag is None:
            continue
        default = getattr(defaults, name)
        shown = "none" if default is None else f"{default:g}" if isinstance(default, float) else default
        extra = " (with --resume: the new value)" if s.resume else ""
        if s.kind is bool:
            groups[s.group].add_argument(s.flag, dest=name, action="store_true", default=None, help=s.help)
            continue
        groups[s.group].add_argument(
            s.flag, dest=name, type=s.kind, default=None, choices=s.choices or None,
            metavar=s.metavar or (None if s.choices else {int: "N", float: "X"}.get(s.kind, "TEXT")),
            help=f"{s.help} (default {shown}){extra}",
        )  # fmt: skip


def given_settings(args) -> dict:
    """The settings given on the command line (the options left at None were not)."""
    return {n: getattr(args, n) for n, s in SETTINGS.items() if s.flag and getattr(args, n, None) is not None}


def config_from_args(args) -> TrainConfig:
    """The defaults, or the preset's settings (``--preset``), with the options given on top."""
    given = given_settings(args)
    if getattr(args, "preset", None):
        base = apply_preset(args.preset, TrainConfig(), args.corpus)
        if args.corpus is not None:
            given["corpus"] = args.corpus
        return base.replace(**given)
    return TrainConfig(**given, corpus=args.corpus)


def default_out(cfg: TrainConfig) -> str:
    if cfg.task == "lm":
        stem = Path(cfg.corpus).stem if cfg.corpus else "tinyshakespeare"
    elif cfg.task == "classify":
        stem = Path(cfg.corpus).name if cfg.corpus else "names"
    else:
        stem = cfg.task
    return f"{stem}-{cfg.cell}.npz"


class StopFlag:
    """Set by the first Ctrl-C / SIGTERM; the loop stops between steps. A second Ctrl-C stops at once."""

    def __init__(self) -> None:
        self.set = False
        self._old: dict[int, object] = {}

    def __enter__(self) -> StopFlag:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)

    def _handle(self, signum, frame) -> None:
        if self.set:  # impatient: the default behaviour
            raise KeyboardInterrupt
        self.set = True


class Progress:
    """One status line: rewritten in place on a terminal, printed every few seconds otherwise."""

    def __init__(self, quiet: bool, stream=sys.stderr):
        self.quiet, self.stream = quiet, stream
        self.tty = stream.isatty()
        self.last = 0.0
        self._open = False  # a terminal line is waiting for its newline

    def show(self, text: str, force: bool = False) -> None:
        if self.quiet:
            return
        now = time.monotonic()
        if self.tty:
            if force or now - self.last > 0.1:
                self.stream.write("\r" + text[:150].ljust(min(len(text), 150)) + "\033[K")
                self.stream.flush()
                self.last = now
                self._open = True
        elif force or now - self.last > 5.0:
            self.stream.write(text + "\n")
            self.stream.flush()
            self.last = now

    def done(self) -> None:
        if self._open:
            self.stream.write("\n")
            self._open = False


def format_eta(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    m, s = divmod(int(seconds + 0.5), 60)
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s" if m else f"{s}s"


def run_train(args) -> int:
    if args.resume and args.preset:
        raise ValueError("--preset starts a new run; a resumed run keeps its own settings")
    if args.resume:
        trainer = load_trainer(args.resume, corpus=args.corpus)
        out = args.out or args.resume
        # the run's own settings, except a new learning rate or clipping asked for now
        given = given_settings(args)
        if "lr" in given:
            trainer.set_lr(given["lr"])
        if "clip" in given:
            trainer.set_clip(ClipConfig.parse(given["clip"]))
        ignored = [SETTINGS[n].flag for n in given if n not in RESUME_FIELDS]
        if ignored:
            print(f"note: a resumed run keeps its own settings; ignored: {', '.join(ignored)}", file=sys.stderr)
    else:
        trainer = Trainer(config_from_args(args))
        out = args.out or default_out(trainer.cfg)
    check_writable(out)  # before training, not at the first checkpoint minutes later
    cfg = trainer.cfg
    for note in trainer.task.notes:
        print(f"note: {note}", file=sys.stderr)
    per_epoch = trainer.task.batches_per_epoch
    target = int(math.ceil(args.epochs * per_epoch)) if args.epochs is not None else args.steps
    target = 1000 if target is None else target
    if target < 0:
        raise ValueError("--steps and --epochs must not be negative")
    progress = Progress(args.quiet)
    val_text = ""
    tokens = 0
    t_start = time.perf_counter()
    start_step = trainer.step
    code = EXIT_OK
    with StopFlag() as stop:
        print(
            f"{trainer.task.spec.title}: {cfg.cell.upper()} {cfg.layers}x{cfg.hidden}, {cfg.optimizer} lr {cfg.lr:g}, "
            f"clip {trainer.clip}; training to step {target:,} ({target / per_epoch:.2f} epochs); checkpoint {out}",
            file=sys.stderr,
        )
        while trainer.step < target and not stop.set:
            report = trainer.train_step()
            tokens += report.tokens
            if not report.applied:
                progress.done()
                print(
                    f"rnnviz train: stopped: {report.problem} Lower the learning rate (--lr) or clip the "
                    f"gradients (--clip norm:1), then --resume {out}.",
                    file=sys.stderr,
                )
                code = EXIT_NUMBERS
                break
            elapsed = time.perf_counter() - t_start
            done = trainer.step - start_step
            if args.eval_every and trainer.step % args.eval_every == 0:
                val_text = _validation_text(trainer)
            if args.save_every and trainer.step % args.save_every == 0:
                save_trainer(trainer, out)
            rate = tokens / elapsed if elapsed > 0 else 0.0
            eta = (target - trainer.step) * elapsed / done if done else float("nan")
            progress.show(
                f"step {trainer.step:,}/{target:,} | epoch {report.progress:.2f} | loss {report.loss:.4f}{val_text} | "
                f"{rate:,.0f} tok/s | ETA {format_eta(eta)}",
                force=trainer.step == target,
            )
        progress.done()
        # saved first, still under the Ctrl-C handler: a second Ctrl-C cannot cut the save short
        save_trainer(trainer, out)  # after a refused step: the last good weights (it changed nothing)
    if code != EXIT_OK:
        return code
    if stop.set:
        print(f"interrupted at step {trainer.step:,}; saved {out} (continue with --resume {out})", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(f"done: step {trainer.step:,}{_validation_text(trainer)}; saved {out}")
    return code


def check_writable(path: str) -> None:
    """Raise ``OSError`` with a plain message unless a checkpoint can be written at ``path``."""
    folder = Path(path).resolve().parent
    if not folder.is_dir():
        raise OSError(f"cannot save the checkpoint {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise OSError(f"cannot save the checkpoint {path}: the folder {folder} is not writable")


def _validation_text(trainer: Trainer) -> str:
    report = trainer.evaluate(max_batches=50)
    if report is None:
        return ""
    text = f" | val {report.loss:.4f}"
    if report.accuracy is not None:
        text += f" ({report.accuracy:.0%} right)"
    return text
