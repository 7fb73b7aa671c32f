"""Action routing: instance choice, circuit breakers, signed calls to modules (SPEC §5).

``dispatch.Dispatcher`` is the entry point; the action view and chat commands call it directly.
"""
