"""AME console: the AME project file, its checks, and the tools that run it."""

__version__ = "0.1.0"
