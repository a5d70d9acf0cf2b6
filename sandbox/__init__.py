"""Local stand-ins for the platforms: a generated Weibo world served like the Weibo Open API v2 and a
generated WeChat Official Accounts world served like api.weixin.qq.com, both from one server."""

from sandbox.server import SandboxServer, serve
from sandbox.wechat_world import WeChatApp, WeChatWorld
from sandbox.weibo_world import SandboxAccount, WeiboWorld, WorldConfig

__all__ = [
    "SandboxAccount",
    "SandboxServer",
    "WeChatApp",
    "WeChatWorld",
    "WeiboWorld",
    "WorldConfig",
    "serve",
]
