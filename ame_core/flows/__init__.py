"""Flows: what one user action starts and must finish, driven outside the client process.

- `records`: the flow record (kind, steps, status, results, events);
- `store`: where records live and how drivers start (the backend's seam);
- `local`: records under `.ame/flows/`, drivers as detached processes;
- `engine` and `steps`: running the unfinished steps idempotently (the same on every backend);
- `control`: what clients do: start, look (and so resume dead drivers), cancel, follow;
- `driver`: the detached local driver process.
"""
