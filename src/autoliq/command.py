"""The `autoliq` command's entry point: the CLI when the server's packages are installed
(`pip install 'autoliq[server]'`), else one line saying so (`pip install autoliq` is the SDK alone)."""

from __future__ import annotations

import sys


def main() -> None:
    """Run the CLI (`autoliq.cli.main`), or exit 2 naming the missing extra."""
    try:
        from autoliq.cli.main import main as cli_main
    except ModuleNotFoundError as exc:
        sys.stderr.write(
            f"error: the autoliq command needs the server's packages ({exc.name} is not installed): "
            "pip install 'autoliq[server]'\n"
        )
        raise SystemExit(2) from None
    cli_main()
