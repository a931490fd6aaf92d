import sys

from ame_cli.main import main

sys.exit(main())
