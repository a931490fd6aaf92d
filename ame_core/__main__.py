import sys

from ame_core.cli.main import main

sys.exit(main())
