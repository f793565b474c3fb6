"""Run by the port at start-up, before the ``erlang`` package is imported: installs the log bridge lazily.

``install_log_bridge()`` puts ``erlang.LogHandler`` on the root logger as
soon as the ``logging`` module is imported, by whoever imports it first.
A port whose Python code never logs never pays for importing ``logging``
(and ``erlang``). Nothing here imports more than ``sys``.
"""

import sys


def install_log_bridge():
    """Install the handler now if ``logging`` is loaded, else on its first import."""
    if "logging" in sys.modules:
        _install()
    else:
        sys.meta_path.insert(0, _LoggingFinder())


def _install():
    # Not `from erlang import _logging`: the package's __getattr__ would
    # answer that with a registered-function stub.
    import erlang._logging

    sys.modules["erlang._logging"].install()


class _InstallAfterLoading:
    """Wraps the loader of ``logging``: runs it, then installs the handler."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        # The module keeps its own loader, as if this wrapper never was.
        module.__loader__ = self._loader
        module.__spec__.loader = self._loader
        _install()

    def __getattr__(self, name):
        return getattr(self._loader, name)


class _LoggingFinder:
    """A meta path finder that only watches for ``logging`` and then leaves."""

    def find_spec(self, name, path=None, target=None):
        if name != "logging":
            return None
        try:
            sys.meta_path.remove(self)
        except ValueError:
            return None
        for finder in sys.meta_path:
            find_spec = getattr(finder, "find_spec", None)
            spec = find_spec(name, path, target) if find_spec is not None else None
            if spec is not None:
                if hasattr(spec.loader, "exec_module"):
                    spec.loader = _InstallAfterLoading(spec.loader)
                return spec
        return None
