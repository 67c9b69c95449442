"""The workspace: persistent, shared memory of the pipeline.

Everything goes through :class:`~pilothouse.workspace.service.WorkspaceService`,
which authorises, mutates, and appends exactly one event and one audit entry per
operation in one transaction.
"""
