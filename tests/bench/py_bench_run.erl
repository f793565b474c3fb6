%% @doc One benchmark pass in this VM (pinned or not, as it was started): rounds of measurements, medians, a term file.
%%
%%   erl -noshell -pa <build>/bench/ebin -pa <build>/lib/erlang_python/ebin \
%%       -run py_bench_run main <Mode> <Build> <OutFile> <BudgetSeconds>
%%
%% Start-up and RSS first (py_bench_startup), then up to three rounds
%% (py_bench_measure), fewer when the budget would not hold them; each figure
%% is the median over rounds. EP_BENCH_SCALE=N divides the iteration counts
%% by N, for a quick check of the bench itself.
-module(py_bench_run).

-export([main/1, add_function/0, log/1]).

-define(MAX_ROUNDS, 3).

-spec main([string()]) -> no_return().
main([Mode, Build, Out, Budget]) ->
    try
        run(Mode, Build, Out, list_to_integer(Budget) * 1000),
        halt(0)
    catch
        Class:Reason:Stack ->
            io:format(standard_error, "py_bench_run failed: ~p:~p~n~p~n", [Class, Reason, Stack]),
            halt(1)
    end.

%% @doc The Erlang function Python calls as erlang.call('add', A, B).
-spec add_function() -> fun((list()) -> integer()).
add_function() ->
    fun([A, B]) -> A + B end.

-spec log(string()) -> ok.
log(Text) ->
    io:format("  [~s ~6.1fs] ~s~n", [get(bench_mode), elapsed_s(), Text]).

%% Internal.

run(Mode, Build, Out, BudgetMs) ->
    put(bench_mode, Mode),
    logger:set_primary_config(level, warning),
    Scale = list_to_integer(os:getenv("EP_BENCH_SCALE", "1")),
    persistent_term:put({py_bench, scale}, Scale),
    put(bench_start, erlang:monotonic_time(millisecond)),
    log(io_lib:format("schedulers online: ~b, logical CPUs available: ~p",
                      [erlang:system_info(schedulers_online),
                       erlang:system_info(logical_processors_available)])),
    Ctx0 = py_bench_app:context(Build),
    ok = py_bench_app:setup(Ctx0),
    Ctx = Ctx0#{payload => payload(100000000)},
    Startup = py_bench_startup:measure(Ctx),
    Rounds = rounds(Ctx, 1, BudgetMs, []),
    Result = maps:merge(Startup, py_bench_stats:merge_rounds(Rounds)),
    Meta = #{{meta, rounds} => length(Rounds),
             {meta, seconds} => elapsed_s(),
             {meta, schedulers} => erlang:system_info(schedulers_online),
             {meta, scale} => Scale},
    ok = file:write_file(Out, io_lib:format("~p.~n", [maps:merge(Result, Meta)])),
    log("done").

rounds(_Ctx, N, _BudgetMs, Acc) when N > ?MAX_ROUNDS ->
    lists:reverse(Acc);
rounds(Ctx, N, BudgetMs, Acc) ->
    Before = erlang:monotonic_time(millisecond),
    log(io_lib:format("round ~b", [N])),
    R = py_bench_measure:run_round(Ctx),
    Took = erlang:monotonic_time(millisecond) - Before,
    Spent = erlang:monotonic_time(millisecond) - get(bench_start),
    case Spent + Took =< BudgetMs of
        true -> rounds(Ctx, N + 1, BudgetMs, [R | Acc]);
        false -> log("budget reached: no more rounds"), lists:reverse([R | Acc])
    end.

%% Random bytes (so Python sees bytes, not UTF-8 text), built from 1 MB of randomness.
payload(Size) ->
    Chunk = rand:bytes(1000000),
    binary:copy(Chunk, Size div 1000000).

elapsed_s() ->
    (erlang:monotonic_time(millisecond) - get(bench_start)) / 1000.
