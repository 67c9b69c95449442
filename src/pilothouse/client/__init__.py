"""A Python client for a Pilothouse server, shaped like the in-process workspace.

:class:`Client` implements :class:`pilothouse.workspace.protocol.Workspace` over
the REST API, so code written against that protocol runs unchanged against
:class:`~pilothouse.workspace.protocol.LocalWorkspace` or a remote server::

    with Client("http://127.0.0.1:8700", api_key) as workspace:
        workspace.write_file("gitops-prod", "/status/validated.json", b"{}")

It depends on the workspace's models and errors only, never on the server's code
or the store, so importing it stays light. The modules:

- :mod:`~pilothouse.client.remote` — the ``Client`` façade, one method per operation;
- :mod:`~pilothouse.client.errors` — error bodies back into exception classes,
  transport failures into :class:`ClientError` (the tree is drawn there);
- :mod:`~pilothouse.client.decoding` — JSON back into the frozen model dataclasses;
- :mod:`~pilothouse.client.streams` — streaming upload bodies and checked downloads.

Exceptions::

    PilothouseError
    ├── WorkspaceError      the server refused: the same subclass as in-process,
    │                       chosen by the error's stable ``code``
    └── ClientError         no usable answer: connect, timeout, cut stream, not Pilothouse
"""

from pilothouse.client.errors import ClientError
from pilothouse.client.remote import Client

__all__ = ["Client", "ClientError"]
