%% @doc A/B of port builds on the small call or eval, pinned, in one VM.
%%
%% ROUNDS=9 taskset -c 0 erl -noshell -pa <build>/bench/ebin
%%   -pa <build>/lib/erlang_python/ebin -run py_bench_ab main
%%   <build> <calls per round> call|eval Label=<app folder>...
%%
%% Each round measures the raw floor, the floor via `py', then every
%% application folder given (a copy of `<build>/lib/erlang_python' from
%% another build): the p50 of `py:call(operator, add, [1,2])' (or
%% `py:eval(<<"1+1">>)') in µs and the port's CPU per call in µs, from
%% /proc/<os_pid>/task/*/schedstat around the timed calls. Prints every
%% round, then the medians over the rounds.
-module(py_bench_ab).
-export([main/1]).

main([Build, NS, What | Variants]) ->
    N = list_to_integer(NS),
    Ctx = py_bench_app:context(Build), logger:set_primary_config(level, warning),
    ok = py_bench_app:setup(Ctx),
    Vs = [begin [L, D] = string:split(V, "="), {L, filename:join(D, "ebin")} end || V <- Variants],
    P = py_bench_floor:open(maps:get(echo, Ctx), []),
    Raw = fun() -> {ok, 3} = py_bench_floor:call(P, <<"operator">>, <<"add">>, [1,2]) end,
    Proj = case What of
               "call" -> fun() -> {ok, 3} = py:call(operator, add, [1,2]) end;
               "eval" -> fun() -> {ok, 2} = py:eval(<<"1+1">>) end
           end,
    Floor = fun() -> {ok, 3} = py:call(operator, add, [1,2]) end,
    Rounds = [begin
         R = bench(Raw, N),
         ok = py_bench_app:start(floor, Ctx), {PF, PFC} = bench_cpu(Floor, N),
         Ms = [begin ok = start_at(E), {L, bench_cpu(Proj, N)} end || {L, E} <- Vs],
         io:format("raw ~.2f pathfloor ~.2f (cpu ~.2f) ~s~n", [R, PF, PFC,
             [io_lib:format(" ~s ~.2f (cpu ~.2f)", [L, M, C]) || {L, {M, C}} <- Ms]]),
         {R, PF, Ms}
     end || _ <- lists:seq(1, rounds())],
    io:format("MEDIAN raw ~.2f pathfloor ~.2f~n", [median([R || {R, _, _} <- Rounds]),
                                                  median([F || {_, F, _} <- Rounds])]),
    [io:format("MEDIAN ~s ~.2f us (cpu ~.2f us/call)~n",
               [L, median([M || {_, _, Ms} <- Rounds, {L2, {M, _}} <- Ms, L2 =:= L]),
                median([C || {_, _, Ms} <- Rounds, {L2, {_, C}} <- Ms, L2 =:= L])])
     || {L, _} <- Vs],
    halt().

start_at(Ebin) ->
    ok = py_bench_app:stop(),
    true = code:replace_path(erlang_python, Ebin),
    {ok, _} = application:ensure_all_started(erlang_python),
    ok.

bench(F, N) ->
    [F() || _ <- lists:seq(1, 2000)],
    Ts = [begin T0 = erlang:monotonic_time(nanosecond), F(),
                erlang:monotonic_time(nanosecond) - T0 end || _ <- lists:seq(1, N)],
    median(Ts) / 1000.

bench_cpu(F, N) ->
    #{os_pid := OsPid} = py:stats(),
    [F() || _ <- lists:seq(1, 2000)],
    C0 = cpu_ns(OsPid),
    M = bench(F, N),
    C1 = cpu_ns(OsPid),
    {M, (C1 - C0) / (N + 2000) / 1000}.

cpu_ns(OsPid) ->
    Dir = "/proc/" ++ integer_to_list(OsPid) ++ "/task",
    {ok, Tasks} = file:list_dir(Dir),
    lists:sum([begin {ok, B} = file:read_file(Dir ++ "/" ++ T ++ "/schedstat"),
                     [Ns | _] = string:split(binary_to_list(B), " "), list_to_integer(Ns) end
               || T <- Tasks]).

median(L) -> lists:nth((length(L) + 1) div 2, lists:sort(L)).

rounds() -> case os:getenv("ROUNDS") of false -> 5; R -> list_to_integer(R) end.
