%% @doc Benchmark arithmetic: percentiles of latency samples, medians of repeated figures, timing.
-module(py_bench_stats).

-export([percentiles/1, median/1, time_ms/1, timed_loop/2, merge_rounds/1]).

%% @doc p50 and p99 in microseconds of samples in nanoseconds (nearest rank).
-spec percentiles([integer()]) -> #{p50_us := float(), p99_us := float()}.
percentiles(SamplesNs) ->
    Sorted = list_to_tuple(lists:sort(SamplesNs)),
    #{p50_us => rank(Sorted, 0.50) / 1000, p99_us => rank(Sorted, 0.99) / 1000}.

rank(Sorted, P) ->
    N = tuple_size(Sorted),
    element(max(1, min(N, ceil(P * N))), Sorted).

%% @doc The median of a non-empty list of numbers (the mean of the middle two for even lengths).
-spec median([number()]) -> number().
median(Values) ->
    Sorted = lists:sort(Values),
    N = length(Sorted),
    case N rem 2 of
        1 -> lists:nth(N div 2 + 1, Sorted);
        0 -> (lists:nth(N div 2, Sorted) + lists:nth(N div 2 + 1, Sorted)) / 2
    end.

%% @doc Runs Fun once; returns {Milliseconds, Result}.
-spec time_ms(fun(() -> T)) -> {float(), T}.
time_ms(Fun) ->
    T0 = erlang:monotonic_time(nanosecond),
    Result = Fun(),
    {(erlang:monotonic_time(nanosecond) - T0) / 1.0e6, Result}.

%% @doc Calls Fun N times in this process; returns each call's duration in ns.
-spec timed_loop(non_neg_integer(), fun(() -> term())) -> [integer()].
timed_loop(N, Fun) ->
    timed_loop(N, Fun, []).

timed_loop(0, _Fun, Acc) ->
    Acc;
timed_loop(N, Fun, Acc) ->
    T0 = erlang:monotonic_time(nanosecond),
    _ = Fun(),
    T1 = erlang:monotonic_time(nanosecond),
    timed_loop(N - 1, Fun, [T1 - T0 | Acc]).

%% @doc Per key, the median over rounds: [#{K => V}] -> #{K => median}.
-spec merge_rounds([#{term() => number()}]) -> #{term() => number()}.
merge_rounds(Rounds) ->
    Keys = lists:usort(lists:append([maps:keys(R) || R <- Rounds])),
    maps:from_list([{K, median([V || R <- Rounds, {ok, V} <- [maps:find(K, R)]])}
                    || K <- Keys]).
