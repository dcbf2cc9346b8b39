"""Developer tooling shared by tests, bench and deploy scripts: data paths, a local server, hostile requests.

Never shipped: pyproject packages `app*` only and docker/Dockerfile copies `app/` only.
"""
