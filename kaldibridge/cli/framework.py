"""The command-line framework every kaldibridge tool is built on.

A tool is a :class:`Tool`: its Kaldi name, usage text, option groups, the number of
positional arguments, and a function ``run(ctx) -> int`` that does the work. The
framework reproduces what a Kaldi binary does around its ``main()``:

* options parsed with Kaldi's rules (:class:`~kaldibridge.kaldi.options.ParseOptions`),
  the command line echoed to stderr (``--print-args``), ``--help`` printing the usage;
* a bad option or a wrong number of arguments prints the usage; a bad option exits
  with 255 (Kaldi's ``KALDI_ERR``), a wrong argument count with 1;
* log lines on stderr in Kaldi's format
  ``LOG (tool[kaldibridge X.Y.Z]:function():file.py:line) message``, the same for
  ``WARNING``/``ERROR`` and ``VLOG[N]`` below ``--verbose=N``; Python ``logging``
  records from the library (logger ``kaldibridge``) are printed the same way;
* any :class:`~kaldibridge.errors.KaldiBridgeError` escaping ``run`` is printed as an
  ``ERROR`` line and the tool exits with 255, like a Kaldi tool dying on ``KALDI_ERR``.

Example::

    TOOL = Tool("feat-to-dim", usage=..., groups=(), nargs=(1, 2), run=_run)

    def _run(ctx: ToolContext) -> int:
        ctx.log.info("...")
        return 0

    main = TOOL.main            # main(argv) -> exit status
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence, TextIO

from kaldibridge import __version__
from kaldibridge.errors import KaldiBridgeError, OptionError
from kaldibridge.kaldi.options import (
    HelpRequested,
    OptionGroup,
    ParsedCommandLine,
    ParseOptions,
    escape_arg,
)

__all__ = ["Tool", "ToolContext", "KaldiLogger", "UtteranceCounter", "EXIT_FATAL"]

#: Exit status of a Kaldi tool that dies on an error (``return -1`` from main).
EXIT_FATAL = 255


class KaldiLogger:
    """Writes Kaldi-format log lines to a stream (stderr by default).

    Args:
        program: tool name shown in each line.
        verbose: ``--verbose`` level; :meth:`vlog` prints levels up to it.
        stream: where to write; ``None`` means the current ``sys.stderr``.
    """

    def __init__(self, program: str, verbose: int = 0, stream: TextIO | None = None) -> None:
        self.program = program
        self.verbose = verbose
        self._stream = stream

    @property
    def stream(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stderr

    def _where(self, depth: int) -> tuple[str, str, int]:
        frame = sys._getframe(depth + 1)
        return frame.f_code.co_name, os.path.basename(frame.f_code.co_filename), frame.f_lineno

    def format(self, kind: str, message: str, func: str, filename: str, line: int) -> str:
        return f"{kind} ({self.program}[kaldibridge {__version__}]:{func}():{filename}:{line}) {message}"

    def emit(self, kind: str, message: str, depth: int = 1) -> None:
        func, filename, line = self._where(depth + 1)
        self.write_line(self.format(kind, message, func, filename, line))

    def write_line(self, text: str) -> None:
        stream = self.stream
        try:
            stream.write(text + "\n")
            stream.flush()
        except (BrokenPipeError, ValueError):
            pass

    def info(self, message: str) -> None:
        """``LOG`` line (Kaldi's ``KALDI_LOG``)."""
        self.emit("LOG", message)

    def warning(self, message: str) -> None:
        """``WARNING`` line (Kaldi's ``KALDI_WARN``)."""
        self.emit("WARNING", message)

    def error(self, message: str) -> None:
        """``ERROR`` line (what Kaldi prints when ``KALDI_ERR`` throws)."""
        self.emit("ERROR", message)

    def vlog(self, level: int, message: str) -> None:
        """``VLOG[level]`` line, printed only when ``--verbose >= level``."""
        if self.verbose >= level:
            self.emit(f"VLOG[{level}]", message)


class _KaldiLogHandler(logging.Handler):
    """Routes ``logging`` records of the library into Kaldi-format lines."""

    def __init__(self, logger: KaldiLogger) -> None:
        super().__init__(level=logging.DEBUG)
        self.kaldi_logger = logger

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            kind = "ERROR"
        elif record.levelno >= logging.WARNING:
            kind = "WARNING"
        elif record.levelno >= logging.INFO:
            kind = "LOG"
        else:
            level = max(1, (logging.INFO - record.levelno) // 5 + 1)
            if self.kaldi_logger.verbose < level:
                return
            kind = f"VLOG[{level}]"
        text = self.kaldi_logger.format(
            kind, record.getMessage(), record.funcName, os.path.basename(record.pathname), record.lineno
        )
        self.kaldi_logger.write_line(text)


@dataclass
class ToolContext:
    """What a tool's ``run`` function receives.

    Attributes:
        tool: the :class:`Tool` being run.
        parsed: parsed command line; ``ctx.opts(SomeOptions)`` gives a group.
        args: positional arguments.
        log: Kaldi-format logger for this tool.
    """

    tool: "Tool"
    parsed: ParsedCommandLine
    args: list[str]
    log: KaldiLogger

    def opts(self, cls: type) -> Any:
        """The parsed instance of option group ``cls``."""
        return self.parsed.groups[cls]

    @property
    def verbose(self) -> int:
        return self.parsed.standard.verbose

    def counter(self) -> "UtteranceCounter":
        """A new per-utterance success/failure counter logging to this tool."""
        return UtteranceCounter(self.log)


class UtteranceCounter:
    """Counts per-item successes and failures, as every Kaldi table tool does.

    Use :meth:`item` around the work for one key: a library error inside is logged as
    Kaldi logs a caught ``KALDI_ERR`` (an ``ERROR`` line with the message, then a
    ``WARNING`` naming the key) and the loop goes on.
    """

    #: exceptions that count as a per-item failure rather than a crash
    CAUGHT: tuple[type[BaseException], ...] = (KaldiBridgeError, ValueError, ArithmeticError, OSError)

    def __init__(self, log: KaldiLogger) -> None:
        self.log = log
        self.done = 0
        self.failed = 0

    @property
    def total(self) -> int:
        return self.done + self.failed

    @contextmanager
    def item(self, key: str, failure: str | None = None) -> Iterator[None]:
        """Run the body for ``key``; count success, or log and count the failure.

        Args:
            key: the utterance (or other table key).
            failure: the warning printed after the error; default
                ``"Failed to process utterance KEY"``.
        """
        try:
            yield
        except self.CAUGHT as exc:  # noqa: PERF203 - one try per utterance
            self.failed += 1
            if str(exc):
                self.log.emit("ERROR", str(exc), depth=2)
            self.log.emit("WARNING", failure or f"Failed to process utterance {key}", depth=2)
        else:
            self.done += 1

    def skip(self, message: str) -> None:
        """Count a failure that was detected without an exception, with a warning."""
        self.failed += 1
        self.log.emit("WARNING", message, depth=1)

    def success(self) -> None:
        self.done += 1

    def exit_status(self) -> int:
        """Kaldi's convention: 0 if anything succeeded, else 1."""
        return 0 if self.done > 0 else 1


@dataclass
class Tool:
    """One command-line tool with Kaldi's name and behaviour.

    Args:
        name: the Kaldi binary name (``compute-fbank-feats``).
        usage: description and usage lines, as printed by ``--help``.
        run: ``run(ctx) -> int`` doing the work; returns the exit status.
        groups: option group classes the tool accepts.
        nargs: allowed numbers of positional arguments, ``(min, max)``; ``max=None``
            means unbounded.
        summary: one line for ``python -m kaldibridge`` listings (defaults to the first
            usage line).
    """

    name: str
    usage: str
    run: Callable[[ToolContext], int]
    groups: Sequence[type[OptionGroup]] = ()
    nargs: tuple[int, int | None] = (0, None)
    summary: str = ""
    parser: ParseOptions = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.parser = ParseOptions(self.usage, self.groups, program=self.name)
        if not self.summary:
            self.summary = next((ln.strip() for ln in self.usage.splitlines() if ln.strip()), "")

    def help_text(self) -> str:
        return self.parser.help_text()

    def main(self, argv: Sequence[str] | None = None, program: str | None = None) -> int:
        """Run the tool on ``argv`` (without the program name); return the exit status."""
        if argv is None:
            argv = sys.argv[1:]
        argv = list(argv)
        name = program or self.name
        log = KaldiLogger(name)
        full_argv = [name] + argv
        command_line = "".join(escape_arg(a) + " " for a in full_argv)
        try:
            parsed = self.parser.parse(argv)
        except HelpRequested as req:
            _write(sys.stderr, req.text)
            return 0
        except OptionError as exc:
            _write(sys.stderr, self.parser.help_text() + f"Command line was: {command_line}\n")
            log.emit("ERROR", str(exc), depth=0)
            return EXIT_FATAL
        log.verbose = parsed.standard.verbose
        if parsed.standard.print_args:
            _write(sys.stderr, command_line + "\n")
        lo, hi = self.nargs
        n = len(parsed.positional)
        if n < lo or (hi is not None and n > hi):
            _write(sys.stderr, self.parser.help_text())
            return 1
        ctx = ToolContext(self, parsed, parsed.positional, log)
        handler = _KaldiLogHandler(log)
        lib_logger = logging.getLogger("kaldibridge")
        old_level, old_propagate = lib_logger.level, lib_logger.propagate
        lib_logger.addHandler(handler)
        lib_logger.setLevel(logging.DEBUG if parsed.standard.verbose > 0 else logging.INFO)
        lib_logger.propagate = False
        try:
            status = self.run(ctx)
            _flush_stdout()
            return int(status)
        except KaldiBridgeError as exc:
            log.emit("ERROR", str(exc) or type(exc).__name__, depth=0)
            if parsed.standard.verbose > 0:
                _write(sys.stderr, traceback.format_exc())
            return EXIT_FATAL
        except BrokenPipeError:
            # The reader of our stdout went away (e.g. `| head`); Kaldi dies quietly too.
            _silence_stdout()
            return EXIT_FATAL
        except KeyboardInterrupt:
            return 130
        except (OSError, ValueError, MemoryError) as exc:
            log.emit("ERROR", f"{type(exc).__name__}: {exc}", depth=0)
            if parsed.standard.verbose > 0:
                _write(sys.stderr, traceback.format_exc())
            return EXIT_FATAL
        finally:
            lib_logger.removeHandler(handler)
            lib_logger.setLevel(old_level)
            lib_logger.propagate = old_propagate

    def __call__(self, argv: Sequence[str] | None = None) -> None:
        """Console-script entry point: run and exit with the tool's status."""
        sys.exit(self.main(argv, program=os.path.basename(sys.argv[0]) or self.name))


def _write(stream: TextIO, text: str) -> None:
    try:
        stream.write(text)
        stream.flush()
    except (BrokenPipeError, ValueError):
        pass


def _flush_stdout() -> None:
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
