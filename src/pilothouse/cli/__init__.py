"""The ``pilothouse`` command line: humans and scripts on the local home.

Commands act on the home given by ``--home`` or ``$PILOTHOUSE_HOME`` (default
``./.pilothouse``), as the user ``pilothouse init`` created, or as the principal of
``--api-key``/``$PILOTHOUSE_API_KEY``. Every command takes ``--output json``.
Errors print ``error: <code>: <reason>`` on stderr and exit 1; no tracebacks.
"""
