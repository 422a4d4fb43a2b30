"""``python -m kaldibridge [TOOL] [ARGS...]``: run a tool by its Kaldi name, or list them.

Also ``python -m kaldibridge datadir COMMAND ...`` and ``python -m kaldibridge utils/NAME.sh
ARGS...`` for Kaldi data directories (see :mod:`kaldibridge.cli.datadir`). The same entry
point is installed as the ``kaldibridge`` console script.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Dispatch to a tool; with no arguments, list the tools."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and (argv[0] == "datadir" or argv[0].startswith("utils/")):
        # Data-directory operations and Kaldi's utils/*.sh scripts (kaldibridge.cli.datadir).
        from kaldibridge.cli import datadir

        return datadir.main(argv)

    from kaldibridge.cli.registry import TOOLS, load_tool

    if not argv or argv[0] in ("-h", "--help", "help", "list"):
        try:
            _print_listing(TOOLS, load_tool)
        except BrokenPipeError:  # e.g. `python -m kaldibridge | head`
            sys.stderr.close()
        return 0
    name, rest = argv[0], argv[1:]
    if name not in TOOLS:
        print(f"kaldibridge: unknown tool {name!r}; run `python -m kaldibridge` for the list.", file=sys.stderr)
        return 255
    return load_tool(name).main(rest, program=name)


def _print_listing(tools: dict, load_tool) -> None:
    from kaldibridge import __version__

    print(f"kaldibridge {__version__}: drop-in replacements for Kaldi's tools.")
    print("Usage: python -m kaldibridge TOOL [options] [args]   (TOOL --help for its options)")
    print("       python -m kaldibridge datadir COMMAND DIR ...  |  python -m kaldibridge utils/NAME.sh ARGS...")
    print()
    print("Tools:")
    width = max((len(n) for n in tools), default=10)
    for name in sorted(tools):
        try:
            summary = load_tool(name).summary
        except Exception as exc:  # a broken tool module must not hide the others
            summary = f"(cannot load: {exc})"
        print(f"  {name:<{width}}  {summary}")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
