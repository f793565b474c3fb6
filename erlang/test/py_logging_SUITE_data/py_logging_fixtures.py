"""Python side of py_logging_SUITE: logs records of every kind; each function returns what the test checks against."""

import inspect
import logging
import multiprocessing
import sys
import threading


def _line():
    """The line number of the caller's previous line (where it logged)."""
    return inspect.currentframe().f_back.f_lineno - 1


def log(name, level, message):
    """Log ``message`` at numeric ``level`` on logger ``name``; returns (file, line)."""
    logging.getLogger(name).log(level, message)
    return __file__, _line()


def log_in_thread(name, message, thread_name):
    """Log an error from a threading.Thread called ``thread_name``; returns the line."""
    where = []

    def run():
        logging.getLogger(name).error(message)
        where.append(_line())

    t = threading.Thread(target=run, name=thread_name)
    t.start()
    t.join()
    return where[0]


def log_exception(name):
    """logger.exception() inside an except block."""
    try:
        1 / 0
    except ZeroDivisionError:
        logging.getLogger(name).exception("division failed")


def log_below_level(name):
    """An INFO record two ways: on the root logger (its level filters it before
    any handler) and on logger ``name`` whose own level is DEBUG (the record
    reaches the root's handlers, which must drop it)."""
    logging.info("root info, never made")
    child = logging.getLogger(name)
    child.setLevel(logging.DEBUG)
    child.info("child info, dropped by the handler")


def root_handlers():
    """Class names of the root logger's handlers, and the root level."""
    root = logging.getLogger()
    return [type(h).__name__ for h in root.handlers], root.level


def set_root_level(level):
    logging.getLogger().setLevel(level)


def write_streams(out, err):
    print(out)
    sys.stderr.write(err + "\n")


def _child_logs(name, message):
    logging.getLogger(name).error(message)


def log_in_forked_child(name, message):
    """A multiprocessing child made by fork() logs an error; returns its exit code."""
    child = multiprocessing.get_context("fork").Process(target=_child_logs, args=(name, message))
    child.start()
    child.join()
    return child.exitcode
