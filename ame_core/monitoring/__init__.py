"""Model monitoring: the proxy's request log, drift of the inputs against a reference, the
report (`ame model monitor`) and its record in MLflow (FORMAT.md, "Monitoring")."""
