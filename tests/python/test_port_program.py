"""Runs the port program by hand and speaks the frame protocol to it (docs/protocol.md)."""

import os
import struct
import subprocess

import pytest

PORT = os.environ.get("EP_PORT_EXECUTABLE")
pytestmark = pytest.mark.skipif(PORT is None, reason="set by CTest: EP_PORT_EXECUTABLE")

CALL, EVAL, EXEC, LOG_LEVEL, DROP_NAMESPACE, HELLO, REPLY, LOG = 1, 2, 3, 7, 10, 64, 65, 69


def etf_binary(data: bytes) -> bytes:
    return bytes([131, 109]) + struct.pack(">I", len(data)) + data


def frame(kind: int, channel: int, ref: int, body: bytes) -> bytes:
    payload = bytes([kind]) + struct.pack(">IQ", channel, ref) + body
    return struct.pack(">I", len(payload)) + payload


def read_frame(stream):
    (length,) = struct.unpack(">I", stream.read(4))
    payload = stream.read(length)
    kind = payload[0]
    channel, ref = struct.unpack(">IQ", payload[1:13])
    return kind, channel, ref, payload[13:]


def start():
    return subprocess.Popen([PORT], stdin=subprocess.PIPE, stdout=subprocess.PIPE)


def next_reply(stream):
    while True:
        kind, channel, ref, body = read_frame(stream)
        if kind == REPLY:
            return channel, ref, body


def test_help_and_version_work_by_hand():
    out = subprocess.run([PORT, "--help"], capture_output=True, text=True, check=True).stdout
    assert "usage: erlang_python_port" in out
    out = subprocess.run([PORT, "--version"], capture_output=True, text=True, check=True).stdout
    assert out.startswith("erlang_python_port ") and "protocol 1" in out


def test_an_unknown_option_is_a_usage_error():
    r = subprocess.run([PORT, "--frobnicate"], capture_output=True, text=True)
    assert r.returncode == 2
    assert "unknown option '--frobnicate'" in r.stderr


@pytest.mark.parametrize(
    "flag, value, expected",
    [
        ("--max-frame", "2147479553", "--max-frame needs a whole number from 64 to 2147479552"),
        ("--max-depth", "20001", "--max-depth needs a whole number from 1 to 20000"),
        ("--threads", "1025", "--threads needs a whole number from 1 to 1024"),
        ("--max-depth", "0", "--max-depth needs a whole number from 1 to 20000"),
        ("--none-atom", "null", "--none-atom needs none, nil or undefined, not 'null'"),
        ("--log-level", "loud", "'loud' is not an OTP logger level"),
        ("--venv", "", "--venv needs a folder name"),
    ],
)
def test_limits_beyond_what_the_port_can_honour_are_usage_errors(flag, value, expected):
    r = subprocess.run([PORT, flag, value], capture_output=True, text=True)
    assert r.returncode == 2
    assert expected in r.stderr


def test_hello_comes_first_and_names_the_protocol_version():
    p = start()
    kind, channel, ref, body = read_frame(p.stdout)
    assert (kind, channel, ref) == (HELLO, 0, 0)
    assert body.startswith(bytes([131, 104, 3, 97, 1]))  # {1, PythonVersion, OsPid}
    p.stdin.close()
    assert p.wait(timeout=10) == 0


def test_exec_is_answered_on_its_ref_and_print_does_not_corrupt_frames():
    p = start()
    read_frame(p.stdout)
    p.stdin.write(frame(EXEC, 0, 42, etf_binary(b"print('x' * 100000)")))
    p.stdin.flush()
    channel, ref, body = next_reply(p.stdout)
    assert (channel, ref) == (0, 42)
    assert body == bytes([131, 104, 2, 119, 2]) + b"ok" + bytes([119, 4]) + b"none"
    p.stdin.close()
    assert p.wait(timeout=10) == 0


def etf_int(n: int) -> bytes:
    return bytes([98]) + struct.pack(">i", n)


def etf_tuple(*items: bytes) -> bytes:
    return bytes([104, len(items)]) + b"".join(items)


def ask(p, kind, ref, term_without_version):
    p.stdin.write(frame(kind, 0, ref, bytes([131]) + term_without_version))
    p.stdin.flush()
    channel, got, body = next_reply(p.stdout)
    assert (channel, got) == (0, ref)
    return body


def test_namespaces_are_made_on_first_use_kept_apart_and_dropped():
    p = start()
    read_frame(p.stdout)
    text = lambda b: etf_binary(b)[1:]  # noqa: E731 - without the version byte
    empty_map = bytes([116, 0, 0, 0, 0])
    ok_none = bytes([131, 104, 2, 119, 2]) + b"ok" + bytes([119, 4]) + b"none"
    assert ask(p, EXEC, 1, etf_tuple(text(b"x = 41"), etf_int(7))) == ok_none
    assert ask(p, EXEC, 2, etf_tuple(text(b"x = 1"), etf_int(8))) == ok_none
    assert ask(p, EVAL, 3, etf_tuple(text(b"x + 1"), empty_map, etf_int(7))).endswith(bytes([97, 42]))
    assert ask(p, EVAL, 4, etf_tuple(text(b"x + 1"), empty_map, etf_int(8))).endswith(bytes([97, 2]))
    # __main__ itself has no x.
    assert b"NameError" in ask(p, EVAL, 5, etf_tuple(text(b"x"), empty_map))
    assert ask(p, DROP_NAMESPACE, 6, etf_int(7)) == ok_none
    assert b"NameError" in ask(p, EVAL, 7, etf_tuple(text(b"x"), empty_map, etf_int(7)))
    p.stdin.close()
    assert p.wait(timeout=10) == 0


def test_a_malformed_body_gets_an_error_reply_and_the_port_keeps_serving():
    p = start()
    read_frame(p.stdout)
    p.stdin.write(frame(CALL, 0, 7, bytes([131, 255])))
    p.stdin.write(frame(EXEC, 0, 8, etf_binary(b"pass")))
    p.stdin.flush()
    # Two requests run concurrently: their replies may come in either order.
    replies = dict((ref, body) for _, ref, body in (next_reply(p.stdout), next_reply(p.stdout)))
    assert sorted(replies) == [7, 8]
    assert b"error" in replies[7] and b"bad request term" in replies[7]
    assert b"ok" in replies[8]
    p.stdin.close()
    assert p.wait(timeout=10) == 0


def test_a_frame_over_the_maximum_ends_the_port_with_status_3():
    p = subprocess.Popen([PORT, "--max-frame", "1024"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    read_frame(p.stdout)
    p.stdin.write(frame(EXEC, 0, 1, etf_binary(b"#" * 2000)))
    p.stdin.flush()
    assert p.wait(timeout=10) == 3
    assert b"longer than the maximum frame size" in p.stderr.read()


def test_input_ending_inside_a_frame_ends_the_port_with_status_3():
    p = subprocess.Popen([PORT], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    read_frame(p.stdout)
    p.stdin.write(frame(EXEC, 0, 1, etf_binary(b"pass"))[:-2])
    p.stdin.close()
    assert p.wait(timeout=10) == 3
    assert b"input ended inside a frame" in p.stderr.read()


def etf_atom(name: bytes) -> bytes:
    return bytes([131, 119, len(name)]) + name


def test_log_records_come_as_log_frames_at_or_above_the_level_the_port_was_told():
    p = subprocess.Popen([PORT, "--log-bridge", "--log-level", "warning"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    read_frame(p.stdout)
    code = b"import logging; logging.getLogger('a').warning('w1'); logging.getLogger('a').info('i1')"
    p.stdin.write(frame(EXEC, 0, 1, etf_binary(code)))
    p.stdin.flush()
    kind, channel, ref, body = read_frame(p.stdout)
    assert (kind, channel, ref) == (LOG, 0, 0)
    assert body.startswith(bytes([131, 104, 3]) + etf_atom(b"warning")[1:])
    assert b"w1" in body and b"python_logger" in body
    assert next_reply(p.stdout)[1] == 1
    # Told debug, the port sends the info record too.
    p.stdin.write(frame(LOG_LEVEL, 0, 2, etf_atom(b"debug")))
    p.stdin.flush()
    assert next_reply(p.stdout)[1:] == (2, bytes([131, 104, 2, 119, 2]) + b"ok" + bytes([119, 4]) + b"none")
    p.stdin.write(frame(EXEC, 0, 3, etf_binary(b"logging.getLogger('a').info('i2')")))
    p.stdin.flush()
    kind, _, _, body = read_frame(p.stdout)
    assert kind == LOG and body.startswith(bytes([131, 104, 3]) + etf_atom(b"info")[1:])
    p.stdin.close()
    assert p.wait(timeout=10) == 0


def test_check_venv_names_the_problem(tmp_path):
    r = subprocess.run([PORT, "--check-venv", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.strip() == "'%s' is not a virtualenv: it has no pyvenv.cfg" % tmp_path
