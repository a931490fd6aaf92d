"""The views of the AME console (one Textual screen each) and its dialogs."""
