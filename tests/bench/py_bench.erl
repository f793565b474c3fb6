%% @doc `make bench': runs the benchmark pinned (taskset -c 0) then unpinned, and writes bench/results.json, details.json and latency.png.
%%
%%   erl -noshell -pa <build>/bench/ebin -pa <build>/lib/erlang_python/ebin \
%%       -run py_bench main <Build> <OutDir>
%%
%% Each pass is a separate VM (py_bench_run) started under `timeout', the
%% pinned one under `taskset -c 0' so that the port programs inherit the CPU.
-module(py_bench).

-export([main/1]).

%% Seconds: the budget a pass plans its rounds in, and when it is killed.
-define(PASS_BUDGET, 100).
-define(PASS_KILL, 135).

-spec main([string()]) -> no_return().
main([Build, OutDir]) ->
    Start = erlang:monotonic_time(millisecond),
    Load = loadavg(),
    io:format("load average before the bench: ~s~n", [Load]),
    try
        Modes = #{pinned => pass(pinned, Build), unpinned => pass(unpinned, Build)},
        report(Modes, Build, OutDir),
        io:format("load average before the bench was ~s; other work on these 2 vCPUs "
                  "makes every figure noisy.~n", [Load]),
        io:format("~nbench wall time: ~.1f s~n",
                  [(erlang:monotonic_time(millisecond) - Start) / 1000]),
        halt(0)
    catch
        throw:{bench_failed, Why} ->
            io:format(standard_error, "bench failed: ~p~n", [Why]),
            halt(1)
    end.

pass(Mode, Build) ->
    Out = filename:join([Build, "bench", "figures-" ++ atom_to_list(Mode) ++ ".term"]),
    _ = file:delete(Out),
    Erl = os:find_executable("erl"),
    Pin = case Mode of pinned -> ["taskset", "-c", "0"]; unpinned -> [] end,
    Args = ["-s", "KILL", integer_to_list(?PASS_KILL)] ++ Pin
        ++ [Erl, "-noshell",
            "-pa", filename:join([Build, "bench", "ebin"]),
            "-pa", filename:join([Build, "lib", "erlang_python", "ebin"]),
            "-run", "py_bench_run", "main", atom_to_list(Mode), Build, Out,
            integer_to_list(?PASS_BUDGET)],
    io:format("== ~s pass~n", [Mode]),
    Port = open_port({spawn_executable, os:find_executable("timeout")},
                     [{args, Args}, exit_status, stderr_to_stdout, {line, 4096}]),
    case relay(Port) of
        0 ->
            {ok, [Figures]} = file:consult(Out),
            Figures;
        Status ->
            throw({bench_failed, {Mode, exit_status, Status}})
    end.

relay(Port) ->
    receive
        {Port, {data, {_, Line}}} -> io:format("~s~n", [Line]), relay(Port);
        {Port, {exit_status, Status}} -> Status
    end.

loadavg() ->
    case file:read_file("/proc/loadavg") of
        {ok, Text} -> lists:join(" ", lists:sublist(string:lexemes(Text, " "), 3));
        _ -> "unknown"
    end.

report(Modes, Build, OutDir) ->
    Dir = filename:join(OutDir, "bench"),
    ok = filelib:ensure_dir(filename:join(Dir, "x")),
    Results = filename:join(Dir, "results.json"),
    ok = file:write_file(Results, py_bench_json:encode(py_bench_report:results(Modes))),
    ok = file:write_file(filename:join(Dir, "details.json"),
                         py_bench_json:encode(py_bench_report:details(Modes))),
    io:format("~n~s", [py_bench_report:table(Modes)]),
    io:format("ratio = project / floor. Floors: (1) (2) (4) a process owning the echo port "
              "(port_command + receive);~n(3) and fan-out: the echo port behind py's own path "
              "(caller -> port, coordinator -> caller);~n(5) start-up: echo_port --embed "
              "(Py_InitializeEx, hello, first echo); RSS: /usr/bin/python3 sleeping.~n"),
    Png = filename:join(Dir, "latency.png"),
    case py_bench_plot:latency_png(Modes, filename:join(Build, "bench"), Png) of
        ok -> io:format("wrote ~s, ~s/details.json, ~s~n", [Results, Dir, Png]);
        {error, Why} -> io:format("wrote ~s; no plot: ~p~n", [Results, Why])
    end.
