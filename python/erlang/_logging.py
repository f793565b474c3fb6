"""Python's logging records into the Erlang node's OTP logger: ``erlang.LogHandler`` and the root-logger bridge.

Each record goes to the OTP logger at the mapped level (DEBUG -> debug,
INFO -> info, WARNING -> warning, ERROR -> error, CRITICAL -> critical;
levels in between: 25-29 notice, 60-69 alert, 70 and above emergency) with
metadata ``python_logger``, ``file``, ``line``, ``thread``, ``python_level``,
``time`` (when Python made the record) and ``exception`` (the formatted
traceback, when the record has ``exc_info``), under the logger domain
``[erlang_python]``.

Records below the OTP primary level are never sent: the port knows that
level (the application tells it at start and when it changes) and the
handler checks it first, counting the records it drops
(``py:stats()``: ``log_records_sent``, ``log_records_dropped``).
Sending is fire and forget: a slow logger never holds a Python thread.

The application installs one ``LogHandler`` on the root logger when
``logging`` is first imported (setting ``python_logging``, default true)
and keeps the root logger's level at the lowest level the OTP primary level
lets through, until Python code sets the root level itself.
"""

import logging
import sys

try:
    import _erlang_log as _native
except ImportError:  # imported outside the port (e.g. by tests or tools)
    _native = None

__all__ = ["LogHandler"]


class LogHandler(logging.Handler):
    """A ``logging.Handler`` that sends records to the OTP logger of the Erlang node.

    Usable on any logger (``logging.getLogger('app').addHandler(erlang.LogHandler())``);
    only inside the port. The message is ``self.format(record)`` (by default
    the message, then the traceback of ``exc_info`` and ``stack_info``).
    """

    def __init__(self, level=logging.NOTSET):
        if _native is None:
            raise RuntimeError("erlang.LogHandler is only available inside the erlang_python port")
        super().__init__(level)

    def handle(self, record):
        # No handler lock: sending is thread-safe, and a thread must never
        # wait for another one's send. Below the OTP primary level the record
        # is counted and dropped before any formatting.
        if not _native.enabled(record.levelno):
            return False
        rv = self.filter(record)
        if rv:
            self.emit(record)
        return rv

    def emit(self, record):
        try:
            message = self.format(record)  # also fills record.exc_text
            exception = None
            if record.exc_info:
                exception = record.exc_text or _formatter.formatException(record.exc_info)
            sent = _native.emit(
                record.levelno,
                message,
                record.name,
                record.pathname,
                record.lineno,
                record.threadName,
                exception,
                record.created,
            )
            if not sent:
                # A child forked from the port (multiprocessing's default):
                # its stderr still reaches the Erlang logger as output.
                sys.stderr.write("%s:%s:%s\n" % (record.levelname, record.name, message))
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)


_formatter = logging.Formatter()

# The handler this module put on the root logger, and the root level it set
# last (None once Python code set another one: the bridge leaves it alone).
_installed = None
_root_level = None


def install():
    """Put one ``LogHandler`` on the root logger and set the root level from the OTP primary level."""
    global _installed, _root_level
    root = logging.getLogger()
    if _installed is None:
        _installed = LogHandler()
        root.addHandler(_installed)
        if root.level == logging.WARNING:  # Python's default: nobody configured it
            _root_level = root.level
    _threshold_changed(_native.threshold())


def _threshold_changed(threshold):
    """Called by the port (with the GIL) when the OTP primary level changes."""
    global _root_level
    root = logging.getLogger()
    if _installed is None or _root_level is None or root.level != _root_level:
        _root_level = None
        return
    # Level 1 rather than NOTSET for "everything", and no level above 2**31.
    _root_level = min(max(threshold, 1), 2**31 - 1)
    root.setLevel(_root_level)
