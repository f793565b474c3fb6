%% @doc The port's executor threads grow with blocked work and shrink back:
%% I/O-bound Python called by hundreds of Erlang processes runs at once.
-module(py_executor_SUITE).

-include_lib("common_test/include/ct.hrl").

-export([all/0, init_per_suite/1, end_per_suite/1]).
-export([two_hundred_sleepers_run_at_once_and_threads_shrink_back/1,
         max_executor_threads_bounds_the_growth/1]).

all() ->
    [two_hundred_sleepers_run_at_once_and_threads_shrink_back,
     max_executor_threads_bounds_the_growth].

init_per_suite(Config) ->
    ok = py_test_helper:start([], [{executor_idle_timeout, 500}]),
    Config.

end_per_suite(_Config) ->
    py_test_helper:stop().

%% 200 callers of time.sleep(1) at once: with 8 executor threads that
%% would take 25 waves; the pool starts a thread per blocked request.
two_hundred_sleepers_run_at_once_and_threads_shrink_back(_Config) ->
    #{port := #{executor_threads := Base, threads_running := Before}} = py:stats(),
    {Us, Results} = timer:tc(fun() -> parallel(200, fun() -> py:call(time, sleep, [1]) end) end),
    #{port := #{threads_running := Grown, threads_peak := Peak}} = py:stats(),
    ct:pal("200 x time.sleep(1): ~b ms; threads ~b before, ~b after, peak ~b (base ~b)",
           [Us div 1000, Before, Grown, Peak, Base]),
    [{ok, none}] = lists:usort(Results),
    true = Us < 3000000,
    true = Peak >= 200,
    %% Idle for executor_idle_timeout (500 ms here): back to the base
    %% (the configured threads and the reader).
    Shrunk = py_test_helper:wait_until(shrink, fun() ->
                                                       #{port := #{threads_running := N}} = py:stats(),
                                                       {N =< Base + 1, N}
                                               end, 20000),
    ct:pal("threads after idling: ~b", [Shrunk]),
    %% And they grow again.
    [{ok, none}] = lists:usort(parallel(50, fun() -> py:call(time, sleep, [0.2]) end)).

max_executor_threads_bounds_the_growth(_Config) ->
    ok = application:stop(erlang_python),
    ok = application:set_env(erlang_python, max_executor_threads, 20),
    try
        ok = application:start(erlang_python),
        {Us, Results} = timer:tc(fun() -> parallel(40, fun() -> py:call(time, sleep, [0.5]) end) end),
        #{port := #{threads_peak := Peak, max_executor_threads := 20}} = py:stats(),
        ct:pal("40 x time.sleep(0.5) with at most 20 threads: ~b ms, peak ~b", [Us div 1000, Peak]),
        [{ok, none}] = lists:usort(Results),
        true = Peak =< 21, % the reader beside 20 executors
        true = Us >= 1000000 % two waves at least
    after
        _ = application:stop(erlang_python),
        ok = application:set_env(erlang_python, max_executor_threads, 256),
        ok = application:start(erlang_python)
    end.

%% Internal.

parallel(N, F) ->
    Self = self(),
    Pids = [spawn_link(fun() -> Self ! {self(), F()} end) || _ <- lists:seq(1, N)],
    [receive {P, R} -> R after 30000 -> ct:fail(no_answer) end || P <- Pids].
