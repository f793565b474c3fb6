"""What py:call_method/3,4 and py:to_term/1 ask of a handle's object (not imported by ``import erlang``).

A handle passed as an argument arrives as the object itself (the port's term
decoder looks it up), so these only have to act on it.
"""


def value(obj):
    """The object itself: the reply converts it into an Erlang term."""
    return obj


def call_method(obj, name, /, *args, **kwargs):
    """``obj.name(*args, **kwargs)``."""
    return getattr(obj, name)(*args, **kwargs)
