"""`python -m sandbox --port 8765 ...`: run the Weibo and WeChat sandbox in the foreground."""

import sys

from sandbox.server import serve

if __name__ == "__main__":
    sys.exit(serve())
