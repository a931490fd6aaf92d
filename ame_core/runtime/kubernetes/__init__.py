"""The Kubernetes backend: task runs as Jobs, pipelines as one Job per step, schedules as
CronJobs, model versions as Deployments. Plain Kubernetes objects: no controller to install.

Nothing here imports the `kubernetes` client at module level; `client.connect()` does.
"""
