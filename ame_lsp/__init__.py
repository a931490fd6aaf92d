"""ame-lsp: the language server for AME project files (features on top of ame_core's engine)."""

__version__ = "0.1.0"
