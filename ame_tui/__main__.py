"""`python -m ame_tui` = `ame tui`."""

import sys

from ame_cli.main import main

if __name__ == "__main__":
    sys.exit(main(["tui", *sys.argv[1:]]))
