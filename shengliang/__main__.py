import sys

from shengliang.cli import main

sys.exit(main())
