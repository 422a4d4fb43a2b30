"""``python -m kaldibridge [TOOL] [ARGS...]``: run a tool by its Kaldi name, or list them."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Dispatch to a tool; with no arguments, list the tools."""
    from kaldibridge.cli.registry import TOOLS, load_tool

    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help", "list"):
        from kaldibridge import __version__

        print(f"kaldibridge {__version__}: drop-in replacements for Kaldi's tools.")
        print("Usage: python -m kaldibridge TOOL [options] [args]   (TOOL --help for its options)")
        print()
        print("Tools:")
        width = max((len(n) for n in TOOLS), default=10)
        for name in sorted(TOOLS):
            try:
                summary = load_tool(name).summary
            except Exception as exc:  # a broken tool module must not hide the others
                summary = f"(cannot load: {exc})"
            print(f"  {name:<{width}}  {summary}")
        return 0
    name, rest = argv[0], argv[1:]
    if name == "datadir" or name.startswith("utils/"):
        # Data-directory operations and Kaldi's utils/*.sh scripts (kaldibridge.cli.datadir).
        from kaldibridge.cli import datadir

        return datadir.main(argv)
    if name not in TOOLS:
        print(f"kaldibridge: unknown tool {name!r}; run `python -m kaldibridge` for the list.", file=sys.stderr)
        return 255
    return load_tool(name).main(rest, program=name)


if __name__ == "__main__":
    sys.exit(main())
