"""Running tasks and serving models: the Backend interface and its implementations."""
