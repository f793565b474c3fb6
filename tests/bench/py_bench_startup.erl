%% @doc Start-up to the first result and idle RSS: the project against a bare embedded interpreter and a bare python3.
%%
%% Floors: `echo_port --embed' (Py_InitializeEx, hello, first echo, over
%% the same kind of port) for start-up; `/usr/bin/python3' sleeping for RSS.
%% Details: the echo port without Python, `python3 -c pass', the RSS of
%% `echo_port --embed'. Starts alternate between the kinds; the first of each
%% kind (cold caches, code loading) is dropped. Leaves the app stopped.
%%
%% The project runs here with the environment the floors get (none added):
%% the `PYTHONPYCACHEPREFIX' the other measurements set hides the standard
%% library's `__pycache__' from Python, so that with `PYTHONDONTWRITEBYTECODE'
%% (or an empty prefix folder) every module was compiled from source, in the
%% project only.
-module(py_bench_startup).

-export([measure/1]).

-define(STARTS, 5).

-spec measure(map()) -> #{{atom(), atom()} => number()}.
measure(Ctx = #{echo := Echo}) ->
    py_bench_run:log("start-up and idle RSS"),
    ok = py_bench_app:use(project, Ctx),
    {ok, Env} = application:get_env(erlang_python, env),
    ok = application:set_env(erlang_python, env, []),
    Kinds = [{project, fun() -> project_start() end},
             {embed, fun() -> py_bench_floor:start_to_first_result(Echo, ["--embed"]) end},
             {bare, fun() -> py_bench_floor:start_to_first_result(Echo, []) end},
             {python, fun python_pass_ms/0}],
    Times = [{Kind, Start()} || _ <- lists:seq(0, ?STARTS), {Kind, Start} <- Kinds],
    Median = fun(Kind) -> py_bench_stats:median(tl([T || {K, T} <- Times, K =:= Kind])) end,
    {ok, _} = application:ensure_all_started(erlang_python),
    {ok, 3} = py:call(operator, add, [1, 2]),
    #{os_pid := OsPid} = py:stats(),
    timer:sleep(500),
    Rss = rss_kb(OsPid),
    ok = py_bench_app:stop(),
    ok = application:set_env(erlang_python, env, Env),
    #{{startup, ms} => Median(project),
      {startup, floor_ms} => Median(embed),
      {startup_echo_port_floor, ms} => Median(bare),
      {startup_python3_floor, ms} => Median(python),
      {rss, kb} => Rss,
      {rss, floor_kb} => idle_rss_kb("/usr/bin/python3",
                                     ["-c", "import time; time.sleep(5)"], []),
      {rss_echo_embed_floor, kb} => idle_rss_kb(Echo, ["--embed"], [{packet, 4}])}.

%% Internal.

%% Application start -> first py:call result, then stopped again.
project_start() ->
    {Ms, _} = py_bench_stats:time_ms(
                fun() ->
                        {ok, _} = application:ensure_all_started(erlang_python),
                        {ok, 3} = py:call(operator, add, [1, 2])
                end),
    ok = py_bench_app:stop(),
    Ms.

python_pass_ms() ->
    {Ms, _} = py_bench_stats:time_ms(
                fun() ->
                        P = open_port({spawn_executable, "/usr/bin/python3"},
                                      [{args, ["-c", "pass"]}, exit_status]),
                        receive {P, {exit_status, 0}} -> ok end
                end),
    Ms.

%% VmRSS of a program 0.5 s after it was started, then it is ended.
idle_rss_kb(Exe, Args, Opts) ->
    P = open_port({spawn_executable, Exe}, [{args, Args}, exit_status, binary | Opts]),
    timer:sleep(500),
    {os_pid, Pid} = erlang:port_info(P, os_pid),
    Kb = rss_kb(Pid),
    _ = os:cmd("kill " ++ integer_to_list(Pid)),
    wait_exit(P),
    Kb.

wait_exit(P) ->
    receive
        {P, {exit_status, _}} -> ok;
        {P, {data, _}} -> wait_exit(P)
    after 5000 -> ok
    end.

rss_kb(OsPid) ->
    {ok, Status} = file:read_file("/proc/" ++ integer_to_list(OsPid) ++ "/status"),
    {match, [Kb]} = re:run(Status, "VmRSS:\\s+([0-9]+) kB", [{capture, all_but_first, binary}]),
    binary_to_integer(Kb).
