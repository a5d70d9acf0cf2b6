"""Local stand-ins for the platforms: a generated Weibo world served like the Weibo Open API v2."""

from sandbox.server import SandboxServer, serve
from sandbox.weibo_world import SandboxAccount, WeiboWorld, WorldConfig

__all__ = ["SandboxAccount", "SandboxServer", "WeiboWorld", "WorldConfig", "serve"]
