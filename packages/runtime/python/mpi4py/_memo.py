"""A bounded memo for pure functions of hashable arguments (the shim's lru_cache): functools
would cost every rank's start a few milliseconds of imports (collections and more)."""


def memoized(maxsize):
    """Decorator: remembers fn's results, forgetting all of them when it holds maxsize."""
    def wrap(fn):
        cache = {}

        def cached(*args):
            try:
                return cache[args]
            except KeyError:
                pass
            value = fn(*args)
            if len(cache) >= maxsize:
                cache.clear()
            cache[args] = value
            return value
        cached.__name__ = fn.__name__
        cached.__doc__ = fn.__doc__
        cached.__wrapped__ = fn
        return cached
    return wrap
