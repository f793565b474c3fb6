%% @doc The `venv' setting: the port starts in a virtualenv made by the test; and python_path's .pth files.
%%
%% init_per_suite makes two venvs with Debian's `/usr/bin/python3 -m venv'
%% (offline; `--without-pip' only to be quick): one with
%% `--system-site-packages', one without. Into each site-packages the test
%% writes a module of its own and a .pth file naming a folder with another.
%% Python fixtures: `py_venv_SUITE_data/py_venv_fixtures.py'.
-module(py_venv_SUITE).

-include_lib("common_test/include/ct.hrl").

-export([all/0, init_per_suite/1, end_per_suite/1, init_per_testcase/2, end_per_testcase/2]).
-export([venv_sets_prefix_executable_and_site_packages/1,
         subprocess_of_sys_executable_runs_in_the_venv/1,
         multiprocessing_spawn_runs_the_venv_python/1,
         system_site_packages_follow_pyvenv_cfg/1,
         venv_is_activated_in_the_environment/1,
         missing_or_incompatible_venv_stops_the_start/1,
         python_path_folders_process_pth_files/1,
         without_venv_sys_executable_is_the_build_python/1]).

-define(FIX, py_venv_fixtures).

all() ->
    [venv_sets_prefix_executable_and_site_packages,
     subprocess_of_sys_executable_runs_in_the_venv,
     multiprocessing_spawn_runs_the_venv_python,
     system_site_packages_follow_pyvenv_cfg,
     venv_is_activated_in_the_environment,
     missing_or_incompatible_venv_stops_the_start,
     python_path_folders_process_pth_files,
     without_venv_sys_executable_is_the_build_python].

init_per_suite(Config) ->
    Priv = ?config(priv_dir, Config),
    Venv = make_venv(filename:join(Priv, "venv"), ["--system-site-packages"]),
    Isolated = make_venv(filename:join(Priv, "venv_isolated"), []),
    [{venv, Venv}, {isolated_venv, Isolated} | Config].

end_per_suite(_Config) ->
    ok.

init_per_testcase(_Case, Config) ->
    _ = application:stop(erlang_python),
    _ = application:unload(erlang_python),
    ok = application:load(erlang_python),
    ok = application:set_env(erlang_python, python_path, [?config(data_dir, Config)]),
    Config.

end_per_testcase(_Case, _Config) ->
    _ = application:stop(erlang_python),
    ok.

%% Cases.

venv_sets_prefix_executable_and_site_packages(Config) ->
    Venv = start_in(venv, Config),
    VenvBin = list_to_binary(Venv),
    {ok, VenvBin} = py:eval(<<"__import__('sys').prefix">>),
    {ok, VenvBin} = py:eval(<<"__import__('sys').exec_prefix">>),
    Python = list_to_binary(filename:join([Venv, "bin", "python3"])),
    {ok, Python} = py:eval(<<"__import__('sys').executable">>),
    %% Written into the venv's site-packages by init_per_suite.
    {ok, <<"from the venv">>} = py:call(venv_only_module, hello, []),
    %% Named by a .pth file there.
    {ok, <<"through a .pth file">>} = py:call(pth_only_module, hello, []).

subprocess_of_sys_executable_runs_in_the_venv(Config) ->
    Venv = start_in(venv, Config),
    VenvBin = list_to_binary(Venv),
    {ok, VenvBin} = py:call(?FIX, child_prefix, []).

multiprocessing_spawn_runs_the_venv_python(Config) ->
    Venv = start_in(venv, Config),
    VenvBin = list_to_binary(Venv),
    {ok, VenvBin} = py:call(?FIX, spawned_prefix, [], #{}, 60000).

%% include-system-site-packages in pyvenv.cfg: Debian's packages (pytest,
%% from /usr/lib/python3/dist-packages) are seen in one venv, not the other.
system_site_packages_follow_pyvenv_cfg(Config) ->
    _ = start_in(venv, Config),
    {ok, File} = py:call(?FIX, importable, [<<"pytest">>]),
    {match, _} = re:run(File, "^/usr/lib/python3/dist-packages/"),
    ok = application:stop(erlang_python),
    Isolated = start_in(isolated_venv, Config),
    IsolatedBin = list_to_binary(Isolated),
    {ok, IsolatedBin} = py:eval(<<"__import__('sys').prefix">>),
    {ok, false} = py:call(?FIX, importable, [<<"pytest">>]),
    {ok, <<"from the venv">>} = py:call(venv_only_module, hello, []).

%% As `activate' does: VIRTUAL_ENV, and the venv's bin/ first on PATH.
venv_is_activated_in_the_environment(Config) ->
    Venv = start_in(venv, Config),
    VenvBin = list_to_binary(Venv),
    {ok, VenvBin} = py:eval(<<"__import__('os').environ['VIRTUAL_ENV']">>),
    Bin = list_to_binary(filename:join(Venv, "bin")),
    {ok, Bin} = py:eval(<<"__import__('os').environ['PATH'].split(':')[0]">>).

%% Checked before the application starts anything, with the port
%% program's own sentence as the error's Expected.
missing_or_incompatible_venv_stops_the_start(Config) ->
    Priv = ?config(priv_dir, Config),
    Old = filename:join(Priv, "old_venv"),
    ok = filelib:ensure_dir(filename:join([Old, "bin", "x"])),
    ok = file:write_file(filename:join(Old, "pyvenv.cfg"),
                         <<"home = /opt/python3.9/bin\ninclude-system-site-packages = false\n"
                           "version = 3.9.2\n">>),
    Missing = filename:join(Priv, "no_such_venv"),
    Cases = [{Old, "was made by Python 3.9, but the port runs Python 3\\.[0-9]+"},
             {Missing, "does not exist"},
             {Priv, "is not a virtualenv: it has no pyvenv.cfg"},
             {list_to_binary(Missing), "does not exist"}],
    [begin
         ok = application:set_env(erlang_python, venv, Dir),
         {error, {{bad_config, venv, Dir, Why}, _}} = application:start(erlang_python),
         ct:pal("venv ~ts: ~ts", [Dir, Why]),
         {match, _} = re:run(Why, Pattern),
         undefined = whereis(py_coordinator)
     end || {Dir, Pattern} <- Cases],
    ok = application:set_env(erlang_python, venv, 42),
    {error, {{bad_config, venv, 42, _}, _}} = application:start(erlang_python).

%% A python_path folder is a site dir: its .pth files are processed.
python_path_folders_process_pth_files(Config) ->
    Priv = ?config(priv_dir, Config),
    Site = filename:join(Priv, "site_dir"),
    Extra = filename:join(Priv, "site_dir_extra"),
    ok = filelib:ensure_dir(filename:join(Site, "x")),
    ok = filelib:ensure_dir(filename:join(Extra, "x")),
    ok = file:write_file(filename:join(Site, "extra.pth"), [Extra, "\n"]),
    ok = file:write_file(filename:join(Extra, "pth_module_of_python_path.py"),
                         <<"def hello():\n    return 'found'\n">>),
    ok = application:set_env(erlang_python, python_path, [Site, ?config(data_dir, Config)]),
    {ok, _} = application:ensure_all_started(erlang_python),
    {ok, <<"found">>} = py:call(pth_module_of_python_path, hello, []),
    %% The folders themselves stay in front, in order, after the package's own.
    SiteBin = list_to_binary(Site),
    {ok, [SiteBin, _]} = py:eval(<<"__import__('sys').path[1:3]">>).

%% No venv: sys.executable is the interpreter the port was built with, not
%% whatever `python3' is first on PATH, and a child of it has the same prefix.
without_venv_sys_executable_is_the_build_python(_Config) ->
    {ok, _} = application:ensure_all_started(erlang_python),
    {ok, Executable} = py:eval(<<"__import__('sys').executable">>),
    true = filelib:is_regular(Executable),
    {ok, Prefix} = py:eval(<<"__import__('sys').prefix">>),
    {ok, Prefix} = py:call(?FIX, child_prefix, []).

%% Internal.

start_in(Which, Config) ->
    Venv = ?config(Which, Config),
    ok = application:set_env(erlang_python, venv, Venv),
    {ok, _} = application:ensure_all_started(erlang_python),
    Venv.

%% A venv with a module of its own in site-packages, and a .pth file there
%% naming a folder with another module.
make_venv(Dir, Flags) ->
    {0, _} = run("/usr/bin/python3", ["-m", "venv", "--without-pip" | Flags] ++ [Dir]),
    Python = filename:join([Dir, "bin", "python3"]),
    {0, SiteOut} = run(Python, ["-c", "import site; print(site.getsitepackages()[0])"]),
    Site = string:trim(binary_to_list(SiteOut)),
    ct:pal("venv ~ts: site-packages ~ts", [Dir, Site]),
    ok = file:write_file(filename:join(Site, "venv_only_module.py"),
                         <<"def hello():\n    return 'from the venv'\n">>),
    Extra = filename:join(Dir, "extra"),
    ok = filelib:ensure_dir(filename:join(Extra, "x")),
    ok = file:write_file(filename:join(Site, "venv_extra.pth"), [Extra, "\n"]),
    ok = file:write_file(filename:join(Extra, "pth_only_module.py"),
                         <<"def hello():\n    return 'through a .pth file'\n">>),
    Dir.

run(Exe, Args) ->
    Port = open_port({spawn_executable, Exe},
                     [{args, Args}, exit_status, stderr_to_stdout, binary, hide]),
    run_output(Port, <<>>).

run_output(Port, Acc) ->
    receive
        {Port, {data, Bytes}} -> run_output(Port, <<Acc/binary, Bytes/binary>>);
        {Port, {exit_status, Status}} -> {Status, Acc}
    after 120000 ->
        ct:fail({no_exit, Acc})
    end.
