"""The ``modelyard`` command line: argv in, one service call, a rich table (or ``--json``) out."""
