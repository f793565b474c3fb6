"""The pure-Python side of the log bridge outside the port: erlang.LogHandler and the start-up hook."""

import subprocess
import sys

import pytest

import erlang


def test_log_handler_is_a_logging_handler_loaded_on_first_use():
    import logging

    assert issubclass(erlang.LogHandler, logging.Handler)
    assert "erlang._logging" in sys.modules


def test_log_handler_needs_the_port():
    with pytest.raises(RuntimeError, match="only available inside the erlang_python port"):
        erlang.LogHandler()


def test_start_up_hook_installs_when_logging_is_first_imported():
    # In a fresh interpreter: the hook waits for `import logging`, runs the
    # installation once, and leaves logging with its own loader.
    code = """
import sys
import _erlang_startup
calls = []
_erlang_startup._install = lambda: calls.append('logging' in sys.modules)
assert 'logging' not in sys.modules
_erlang_startup.install_log_bridge()
assert calls == []
import logging
import logging.handlers
assert calls == [True], calls
assert type(logging.__loader__).__name__ == 'SourceFileLoader'
assert logging.__spec__.loader is logging.__loader__
assert not any(isinstance(f, _erlang_startup._LoggingFinder) for f in sys.meta_path)
_erlang_startup.install_log_bridge()
assert calls == [True, True]
"""
    subprocess.run([sys.executable, "-c", code], check=True)
