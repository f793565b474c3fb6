#!/usr/bin/env python3
"""Packaging test: a throwaway rebar3 or mix project depends on this checkout and calls Python.

usage: check_package.py rebar3|mix|apt-line SOURCE_DIR WORK_DIR

rebar3: a rebar3 project with a git dependency (a file:// URL) compiles erlang_python, and
        `rebar3 shell` answers py:call(math, sqrt, [16]); running the build hook again does
        not configure CMake again.
mix:    the same from a mix project, `iex -S mix` answering :py.call(:math, :sqrt, [16]).
apt-line: the hook names a missing Debian package with the apt-get line to run.

The dependency is a git repository made from the checkout's files as they are (committed
or not), so the test checks the working tree. No network: rebar3 and mix only clone it.
"""

import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import time

TIMEOUT = 900  # seconds for one build step: a cold build of the port at -j2 takes ~2 min


def log(msg):
    print(f"check_package: {msg}", flush=True)


def run(cmd, cwd, env, check=True):
    """Runs cmd, echoes its output, returns (exit code, output)."""
    log(f"$ {' '.join(cmd)}  (in {cwd})")
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=TIMEOUT)
    print(proc.stdout, end="", flush=True)
    log(f"exit {proc.returncode} after {time.monotonic() - started:.1f} s")
    if check and proc.returncode != 0:
        sys.exit(f"check_package: FAILED: {' '.join(cmd)} exited {proc.returncode}")
    return proc.returncode, proc.stdout


def snapshot(source, dest, env):
    """A git repository (branch main) holding the checkout's tracked and untracked,
    not ignored, files as they are in the working tree."""
    listed = subprocess.run(["git", "ls-files", "-z", "-c", "-o", "--exclude-standard"],
                            cwd=source, stdout=subprocess.PIPE, check=True).stdout
    for rel in sorted(set(p for p in listed.decode().split("\0") if p)):
        src = os.path.join(source, rel)
        if not os.path.lexists(src):  # deleted in the working tree
            continue
        os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
        shutil.copy2(src, os.path.join(dest, rel), follow_symlinks=False)
    run(["git", "init", "-q", "-b", "main"], dest, env)
    run(["git", "add", "-A"], dest, env)
    run(["git", "-c", "user.name=check", "-c", "user.email=check@localhost",
         "commit", "-q", "-m", "snapshot"], dest, env)


def shell_session(cmd, cwd, env, prompt, line, answer, quit_line):
    """Starts an interactive shell on a pseudo-terminal, waits for its prompt, types
    `line`, waits for `answer` (a regex) and quits. A shell reading a pipe instead would
    lose what was typed ahead while it starts."""
    log(f"$ {' '.join(cmd)}  (in {cwd}, on a terminal)")
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(cwd)
        os.execvpe(cmd[0], cmd, env)
    deadline = time.monotonic() + 300
    seen = b""

    # iex colours its answers even with TERM=dumb: match on the text without them.
    colours = re.compile(rb"\x1b\[[0-9;]*m")

    def wait_for(pattern):
        nonlocal seen
        regex = re.compile(pattern.encode())
        while not regex.search(colours.sub(b"", seen)):
            left = deadline - time.monotonic()
            if left <= 0:
                os.kill(pid, signal.SIGKILL)
                sys.exit(f"check_package: FAILED: no {pattern!r} from {cmd[0]}; it printed:\n"
                         + seen.decode(errors="replace"))
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:  # the shell exited
                    chunk = b""
                if not chunk:
                    os.waitpid(pid, 0)
                    sys.exit(f"check_package: FAILED: {cmd[0]} ended before {pattern!r}:\n"
                             + seen.decode(errors="replace"))
                seen += chunk
        seen = colours.sub(b"", seen)
        found = regex.search(seen)
        print(seen[:found.end()].decode(errors="replace"), flush=True)
        seen = seen[found.end():]

    wait_for(prompt)
    os.write(fd, line.encode() + b"\r")
    wait_for(answer)
    os.write(fd, quit_line.encode() + b"\r")
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    log(f"{cmd[0]} answered and quit (status {status})")


def check_no_reconfigure(app_dir, env):
    """Runs the build hook again, as rebar3 does on every compile of a checkout: nothing
    changed, so CMake must not configure again nor relink the port."""
    port = os.path.join(app_dir, "priv", "erlang_python_port")
    before = os.stat(port).st_mtime_ns
    started = time.monotonic()
    _, out = run(["sh", "tools/build-priv.sh"], app_dir, env)
    took = time.monotonic() - started
    if "Configuring" in out or "Linking" in out or os.stat(port).st_mtime_ns != before:
        sys.exit("check_package: FAILED: a rebuild with no change configured or linked again")
    log(f"rebuild with no change: {took:.1f} s, no CMake configure, port not relinked")


def check_rebar3(work, repo, env):
    app = os.path.join(work, "rebar3_app")
    os.makedirs(os.path.join(app, "src"))
    with open(os.path.join(app, "rebar.config"), "w") as f:
        # `rebar3 shell` boots the apps named in {shell, [{apps, _}]}, as `rebar3 new app` writes.
        f.write('{deps, [{erlang_python, {git, "file://%s", {branch, "main"}}}]}.\n'
                '{shell, [{apps, [demo_app]}]}.\n' % repo)
    with open(os.path.join(app, "src", "demo_app.app.src"), "w") as f:
        f.write('{application, demo_app, [{description, "uses erlang_python"}, '
                '{vsn, "0.1.0"}, {applications, [kernel, stdlib, erlang_python]}]}.\n')
    run(["rebar3", "compile"], app, env)
    dep = os.path.join(app, "_build", "default", "lib", "erlang_python")
    for built in ["ebin/erlang_python.app", "ebin/py.beam", "priv/erlang_python_port",
                  "priv/python/erlang/__init__.py"]:
        if not os.path.exists(os.path.join(dep, built)):
            sys.exit(f"check_package: FAILED: {built} missing in {dep}")
    # rebar3 prints its prompt, then boots the apps.
    shell_session(["rebar3", "shell"], app, env, r"Booted demo_app", "py:call(math, sqrt, [16]).",
                  r"\{ok,4\.0\}", "q().")
    check_no_reconfigure(dep, env)


def check_mix(work, repo, env):
    app = os.path.join(work, "mix_app")
    os.makedirs(os.path.join(app, "lib"))
    with open(os.path.join(app, "mix.exs"), "w") as f:
        f.write('defmodule DemoApp.MixProject do\n'
                '  use Mix.Project\n\n'
                '  def project do\n'
                '    [app: :demo_app, version: "0.1.0",\n'
                '     deps: [{:erlang_python, git: "file://%s", branch: "main"}]]\n'
                '  end\n\n'
                '  def application, do: [extra_applications: [:logger]]\n'
                'end\n' % repo)
    # Offline, mix must use Debian's rebar3 instead of downloading its own (README).
    run(["mix", "local.rebar", "rebar3", shutil.which("rebar3"), "--force"], app, env)
    run(["mix", "deps.get"], app, env)
    run(["mix", "compile"], app, env)
    shell_session(["iex", "-S", "mix"], app, env, r"iex\(1\)> ",
                  ":py.call(:math, :sqrt, [16])", r"\{:ok, 4\.0\}", "System.halt()")
    # A forced recompile of the dependency runs the hook again: no CMake configure.
    _, out = run(["mix", "deps.compile", "erlang_python", "--force"], app, env)
    if "Configuring" in out or "Linking" in out:
        sys.exit("check_package: FAILED: mix deps.compile --force configured CMake again")
    log("mix deps.compile --force: no CMake configure, port not relinked")


def check_apt_line(source, work, env):
    """With dpkg-query saying pybind11-dev is not installed, the hook fails naming it."""
    fake_bin = os.path.join(work, "fake-bin")
    os.makedirs(fake_bin)
    fake = os.path.join(fake_bin, "dpkg-query")
    with open(fake, "w") as f:
        f.write('#!/bin/sh\n'
                'for last; do :; done\n'
                'if [ "$last" = pybind11-dev ]; then echo "unknown ok not-installed"; '
                'else echo "install ok installed"; fi\n')
    os.chmod(fake, 0o755)
    env = dict(env, PATH=fake_bin + os.pathsep + env["PATH"])
    code, out = run(["sh", os.path.join(source, "tools", "build-priv.sh")], work, env,
                    check=False)
    expected = "apt-get install -y --no-install-recommends pybind11-dev"
    if code == 0 or expected not in out:
        sys.exit(f"check_package: FAILED: the hook did not stop with {expected!r}")
    log("a missing pybind11-dev is named with its apt-get line")


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("rebar3", "mix", "apt-line"):
        sys.exit(__doc__)
    kind, source, work = sys.argv[1], os.path.abspath(sys.argv[2]), os.path.abspath(sys.argv[3])
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    # rebar3's and mix's caches and mix's copy of rebar3 stay in the test's own folder.
    home = os.path.join(work, "home")
    os.makedirs(home)
    env = dict(os.environ, HOME=home, MIX_HOME=os.path.join(home, ".mix"), TERM="dumb",
               LC_ALL="C.UTF-8")
    for var in ("MIX_REBAR3", "REBAR_CONFIG", "ERL_LIBS", "MIX_ENV"):
        env.pop(var, None)
    if kind == "apt-line":
        check_apt_line(source, work, env)
    else:
        repo = os.path.join(work, "erlang_python.git")
        snapshot(source, repo, env)
        (check_rebar3 if kind == "rebar3" else check_mix)(work, repo, env)
    log(f"{kind}: passed")


if __name__ == "__main__":
    main()
