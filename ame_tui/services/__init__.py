"""Everything the TUI does that touches the outside world (files, backends, MLflow, HTTP).

Functions here are plain and blocking; screens call them from thread workers and post the
results as messages, so the UI thread never waits on I/O.
"""
