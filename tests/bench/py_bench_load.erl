%% @doc Throughput: N concurrent Erlang callers calling in a loop for a fixed time.
-module(py_bench_load).

-export([throughput/3]).

%% @doc Starts Callers processes that each call Fun in a loop for DurationMs.
%% Returns the calls per second over all of them and every call's duration (ns).
-spec throughput(fun(() -> term()), pos_integer(), pos_integer()) ->
          {float(), [integer()]}.
throughput(Fun, Callers, DurationMs) ->
    Self = self(),
    Pids = [spawn_link(fun() -> caller(Self, Fun) end) || _ <- lists:seq(1, Callers)],
    [receive {ready, P} -> ok end || P <- Pids],
    Start = erlang:monotonic_time(nanosecond),
    Deadline = Start + DurationMs * 1000000,
    [P ! {go, Deadline} || P <- Pids],
    Results = [receive {done, P, Count, Last, Samples} -> {Count, Last, Samples} end
               || P <- Pids],
    Calls = lists:sum([C || {C, _, _} <- Results]),
    Elapsed = lists:max([L || {_, L, _} <- Results]) - Start,
    {Calls / (Elapsed / 1.0e9), lists:append([S || {_, _, S} <- Results])}.

caller(Parent, Fun) ->
    _ = Fun(), % warm-up: the first call of a process may take a slow path
    Parent ! {ready, self()},
    receive {go, Deadline} -> ok end,
    {Count, Last, Samples} = loop(Fun, Deadline, 0, []),
    Parent ! {done, self(), Count, Last, Samples}.

loop(Fun, Deadline, Count, Acc) ->
    T0 = erlang:monotonic_time(nanosecond),
    {ok, _} = Fun(),
    T1 = erlang:monotonic_time(nanosecond),
    case T1 >= Deadline of
        true -> {Count + 1, T1, [T1 - T0 | Acc]};
        false -> loop(Fun, Deadline, Count + 1, [T1 - T0 | Acc])
    end.
