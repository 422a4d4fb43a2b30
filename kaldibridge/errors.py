"""The exception tree of kaldibridge.

Every error raised on purpose by kaldibridge derives from :class:`KaldiBridgeError`.
Leaf classes also derive from the builtin exception a caller would naturally catch,
so ``except ValueError`` or ``except OSError`` keep working for code that does not
know about kaldibridge.
"""

from __future__ import annotations

__all__ = [
    "KaldiBridgeError",
    "OptionError",
    "FormatError",
    "AudioFormatError",
    "KaldiIOError",
    "PipeError",
    "PipesRefusedError",
    "TableKeyError",
    "KaldiFatalError",
]


class KaldiBridgeError(Exception):
    """Root of every exception kaldibridge raises deliberately."""


class OptionError(KaldiBridgeError, ValueError):
    """An unknown option, a bad option value or an invalid combination of options."""


class FormatError(KaldiBridgeError, ValueError):
    """Malformed data: an archive, a matrix header, a text table or a specifier."""


class KaldiIOError(KaldiBridgeError, OSError):
    """A file, pipe or archive could not be opened, read or written."""


class AudioFormatError(KaldiBridgeError, OSError, ValueError):
    """Audio that cannot be decoded: empty, truncated header, garbage or unsupported codec.

    It is both an :class:`OSError` (the way soundfile and torchaudio report bad files)
    and a :class:`ValueError` (the content, not the file system, is at fault).
    """


class PipeError(KaldiIOError):
    """A shell pipe (``cmd |`` or ``| cmd``) failed; the message names the command and status."""


class PipesRefusedError(KaldiIOError):
    """A pipe was requested while pipes are refused (``allow_pipes=False`` or
    ``KALDIBRIDGE_NO_PIPES=1``)."""


class TableKeyError(KaldiBridgeError, KeyError):
    """A key is missing from a table (random access) or is not a valid Kaldi token."""

    def __str__(self) -> str:  # KeyError quotes its argument; keep the message readable
        return str(self.args[0]) if self.args else ""


class KaldiFatalError(KaldiBridgeError, RuntimeError):
    """An error that ends a command-line tool (Kaldi's ``KALDI_ERR``), exit status 255."""
