%% @doc erlang.call from Python threads: the scenarios of the threading spec,
%% isolation under load, concurrency, re-entrancy, and pooling of channels
%% and handlers. The Python side is py_thread_SUITE_data/thread_fixture.py.
-module(py_thread_SUITE).

-include_lib("common_test/include/ct.hrl").

-export([all/0, init_per_suite/1, end_per_suite/1,
         init_per_testcase/2, end_per_testcase/2]).
-export([thread_calls_registered_function/1,
         thread_pool_executor_maps_over_erlang/1,
         one_thread_chains_calls/1,
         ten_threads_get_their_own_results/1,
         erlang_error_is_caught_and_thread_goes_on/1,
         concurrent_chains_never_cross/1,
         slow_calls_overlap_and_do_not_block_erlang/1,
         recursion_50_levels_deep/1,
         all_executor_threads_run_requests_at_once/1,
         recursion_50_levels_deep_while_executors_busy/1,
         short_lived_threads_reuse_channels/1,
         unknown_function_is_named_in_the_error/1,
         call_arguments_are_checked/1,
         answers_shaped_like_their_envelope_round_trip/1,
         send_from_thread_reaches_erlang/1,
         pids_and_refs_round_trip/1,
         attribute_syntax_calls_erlang/1,
         cpu_thread_runs_while_another_waits/1,
         handlers_are_reused_across_rounds/1,
         requests_served_while_a_reading_thread_stays_away/1,
         quick_replies_do_not_wait_for_slow_requests_of_their_batch/1,
         deep_values_on_a_small_thread_stack_are_errors_not_crashes/1]).

%% Registered as Erlang functions (by module and name).
-export([double_it/1, add_one/1, my_function/1, maybe_fail/1, step/1, slow/1,
         down/1, gate/1, await_go/1, whoami/1, echo/1]).

-define(FIXTURE, thread_fixture).
-define(LONG, 120000).

all() ->
    [thread_calls_registered_function,
     thread_pool_executor_maps_over_erlang,
     one_thread_chains_calls,
     ten_threads_get_their_own_results,
     erlang_error_is_caught_and_thread_goes_on,
     concurrent_chains_never_cross,
     slow_calls_overlap_and_do_not_block_erlang,
     recursion_50_levels_deep,
     all_executor_threads_run_requests_at_once,
     recursion_50_levels_deep_while_executors_busy,
     short_lived_threads_reuse_channels,
     unknown_function_is_named_in_the_error,
     call_arguments_are_checked,
     answers_shaped_like_their_envelope_round_trip,
     send_from_thread_reaches_erlang,
     pids_and_refs_round_trip,
     attribute_syntax_calls_erlang,
     cpu_thread_runs_while_another_waits,
     handlers_are_reused_across_rounds,
     requests_served_while_a_reading_thread_stays_away,
     quick_replies_do_not_wait_for_slow_requests_of_their_batch,
     deep_values_on_a_small_thread_stack_are_errors_not_crashes].

init_per_suite(Config) ->
    %% Loaded first: python_path set before the load would be overwritten by
    %% the .app file's default.
    ok = application:load(erlang_python),
    ok = application:set_env(erlang_python, python_path, [?config(data_dir, Config)]),
    {ok, _} = application:ensure_all_started(erlang_python),
    Config.

end_per_suite(_Config) ->
    ok = application:stop(erlang_python).

%% A fresh port for every case: the channel and handler counters then only
%% see that case, and a case that leaves Python threads blocked cannot
%% starve the next one.
init_per_testcase(_Case, Config) ->
    ok = application:stop(erlang_python),
    {ok, _} = application:ensure_all_started(erlang_python),
    [ok = py:register_function(Name, ?MODULE, Name)
     || Name <- [double_it, add_one, my_function, maybe_fail, step, slow,
                 down, gate, await_go, whoami, echo]],
    Config.

end_per_testcase(_Case, _Config) ->
    ok.

%% Erlang functions called from Python.

double_it([X]) -> X * 2.

add_one([X]) -> X + 1.

my_function([A, B]) -> {my_function, A, B, A + B}.

maybe_fail([X]) -> 10 div X.

%% Answers with the caller's own thread and task ids: a result delivered to
%% the wrong Python thread cannot pass for the right one.
step([T, K, I]) -> {T, K, I + 1}.

%% The sleep is the thing under test. The notification lets the test act
%% while the call is in progress.
slow([Ms]) ->
    timer:sleep(Ms),
    {slept, Ms};
slow([Ms, Notify]) ->
    Notify ! {slow_started, self(), erlang:monotonic_time(millisecond)},
    timer:sleep(Ms),
    {slept, Ms}.

%% One level of Python -> Erlang -> Python: the nested py:call goes back to
%% the Python thread that is waiting for this function.
down([N]) ->
    {ok, Below} = py:call(?FIXTURE, recurse, [N - 1]),
    [{down, N} | Below].

%% Blocks the Python thread (an executor) calling it until the test opens it.
gate([Test, I]) ->
    Test ! {gate_waiting, I, self()},
    receive open -> {opened, I} end.

await_go([Test]) ->
    Test ! {go_waiting, self()},
    receive go -> going end.

whoami([]) -> self().

echo([Term]) -> Term.

%% The spec's scenarios.

thread_calls_registered_function(_Config) ->
    {ok, {my_function, 20, 22, 42}} = py:call(?FIXTURE, call_in_thread, [20, 22]).

thread_pool_executor_maps_over_erlang(_Config) ->
    {ok, [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]} = py:call(?FIXTURE, pool_map, []).

one_thread_chains_calls(_Config) ->
    {ok, 3} = py:call(?FIXTURE, chain_in_thread, []).

ten_threads_get_their_own_results(_Config) ->
    Expected = [{N, 2 * N, N + 1} || N <- lists:seq(0, 9)],
    {ok, Expected} = py:call(?FIXTURE, ten_workers, []).

erlang_error_is_caught_and_thread_goes_on(_Config) ->
    {ok, {Caught, 2}} = py:call(?FIXTURE, error_then_success, []),
    {<<"ErlangError">>, true, Message, error, badarith} = Caught,
    {_, _} = binary:match(Message, <<"badarith">>).

%% Isolation under load.

concurrent_chains_never_cross(_Config) ->
    Threads = 8, Tasks = 200, Chain = 5,
    Expected = [{[{T, K, Chain} || K <- lists:seq(0, Tasks - 1)], []}
                || T <- lists:seq(0, Threads - 1)],
    [{ok, Expected} = py:call(?FIXTURE, stress, [Threads, Tasks, Chain], #{}, ?LONG)
     || _Repetition <- lists:seq(1, 10)],
    ok.

slow_calls_overlap_and_do_not_block_erlang(_Config) ->
    Test = self(),
    %% Imported beforehand: the import is not what is timed.
    {ok, 1} = py:call(?FIXTURE, identity, [1]),
    Start = erlang:monotonic_time(millisecond),
    Runner = spawn_link(fun() ->
        Result = py:call(?FIXTURE, parallel_slow, [8, 200, Test]),
        Test ! {threads_done, Result, erlang:monotonic_time(millisecond)}
    end),
    %% Once all 8 threads are inside slow/1, another process calls Python.
    Started = [receive
                   {slow_started, Handler, _} -> Handler
               after 5000 ->
                   ct:fail(slow_not_started)
               end || _ <- lists:seq(1, 8)],
    8 = length(lists:usort(Started)),
    {ok, 4.0} = py:call(math, sqrt, [16]),
    OtherDone = erlang:monotonic_time(millisecond),
    receive
        {threads_done, {ok, {Results, PyElapsed}}, ThreadsDone} ->
            Slept = lists:duplicate(8, {slept, 200}),
            Slept = Results,
            Total = ThreadsDone - Start,
            ct:pal("8 x 200 ms in ~p ms (Python saw ~p ms); other call done ~p ms before",
                   [Total, PyElapsed, ThreadsDone - OtherDone]),
            true = Total < 1000,
            true = OtherDone < ThreadsDone
    after 10000 ->
        ct:fail({threads_not_done, Runner})
    end.

%% Re-entrancy.

recursion_50_levels_deep(_Config) ->
    Expected = expected_recursion(50),
    {ok, Expected} = py:call(?FIXTURE, recurse, [50]).

%% The port runs `executor_threads' (8 by default) requests at once.
all_executor_threads_run_requests_at_once(_Config) ->
    Executors = executor_threads(),
    Gates = occupy_executors(Executors),
    release_gates(Gates).

recursion_50_levels_deep_while_executors_busy(_Config) ->
    Test = self(),
    %% A Python thread of our own, parked in Erlang until every executor is busy.
    {ok, started} = py:call(?FIXTURE, recurse_in_background, [50, Test]),
    GoHandler = receive {go_waiting, H} -> H
                after 5000 -> ct:fail(background_not_waiting)
                end,
    Gates = occupy_executors(executor_threads()),
    GoHandler ! go,
    Expected = expected_recursion(50),
    Outcome = receive {recursed, R} -> R after 20000 -> no_answer end,
    release_gates(Gates),
    {ok, Expected} = Outcome.

%% Pooling.

short_lived_threads_reuse_channels(_Config) ->
    Total = 5000, Batch = 50,
    Expected = lists:seq(1, Total),
    {ok, Expected} = py:call(?FIXTURE, short_lived_threads, [Total, Batch], #{}, ?LONG),
    Stats = #{channels := Channels, handlers := Handlers,
              port := #{channels := PortChannels,
                        channels_in_use := InUse}} = py:stats(),
    ct:pal("after ~p threads, ~p at a time: ~p", [Total, Batch, Stats]),
    %% At most Batch threads alive at once, plus the executors' own channels.
    Bound = Batch + executor_threads() + 2,
    true = Channels =< Bound,
    true = Handlers =< Bound,
    true = PortChannels =< Bound,
    true = InUse =< executor_threads().

handlers_are_reused_across_rounds(_Config) ->
    Rounds = 6, Width = 20,
    {ok, PerRound} = py:call(?FIXTURE, handler_rounds, [Rounds, Width], #{}, ?LONG),
    Rounds = length(PerRound),
    %% Every round really had Width threads with their own handlers at once.
    [Width = length(lists:usort(Pids)) || Pids <- PerRound],
    true = lists:all(fun erlang:is_pid/1, lists:append(PerRound)),
    All = lists:usort(lists:append(PerRound)),
    #{handlers := Handlers, channels := Channels} = py:stats(),
    ct:pal("~p rounds of ~p threads: ~p distinct handlers, stats handlers ~p channels ~p",
           [Rounds, Width, length(All), Handlers, Channels]),
    true = length(All) =< Width + 2,
    true = Handlers =< Width + 2,
    %% The last round was served by handlers of the first.
    [First | _] = PerRound,
    Last = lists:last(PerRound),
    true = length(Last -- First) =< 2.

%% Errors, messages, terms, syntax.

unknown_function_is_named_in_the_error(_Config) ->
    {ok, {<<"ErlangError">>, true, Message}} =
        py:call(?FIXTURE, unknown_function, [<<"no_such_function">>]),
    {_, _} = binary:match(Message, <<"no_such_function">>).

%% erlang.call(name, *args): `name` a str (or subclass), by keyword only when
%% alone; anything else is the TypeError pybind11 used to raise for it.
call_arguments_are_checked(_Config) ->
    {ok, [{<<"ok">>, Pid}, {<<"ok">>, 42}, {<<"ok">>, 8} | Errors]} =
        py:call(?FIXTURE, call_arguments, []),
    true = is_pid(Pid),
    [Bytes, Int, NoArgs, Kwarg, NameTwice, Unencodable] = Errors,
    Incompatible = <<"call(): incompatible function arguments. The following argument types "
                     "are supported:\n    1. (name: str, *args) -> object\n\nInvoked with: ">>,
    Size = byte_size(Incompatible),
    [{<<"TypeError">>, <<Incompatible:Size/binary, Rest/binary>>} = E
     || {E, Rest} <- [{Bytes, <<"b'double_it', 1">>}, {Int, <<"1">>}, {NoArgs, <<>>},
                      {Kwarg, <<"'double_it', 1; kwargs: x=2">>},
                      {NameTwice, <<"'double_it'; kwargs: name='x'">>}]],
    {<<"TypeError">>, <<"cannot convert Python object of type 'object'", _/binary>>} = Unencodable.

%% An answer is {ok, Value} on the wire, and Value is decoded in place:
%% values that look like that envelope, or like an error, come back as sent.
answers_shaped_like_their_envelope_round_trip(_Config) ->
    [{ok, T} = py:call(?FIXTURE, identity_via_thread, [T])
     || T <- [ok, {ok, ok}, {ok, 3}, [ok], {error, {error, x, <<"t">>, []}}, <<"ok">>, {ok},
              'ok k', [], #{ok => ok}, 1 bsl 70, {ok, [1 | 2]}]].

send_from_thread_reaches_erlang(_Config) ->
    Ref = make_ref(),
    {ok, sent} = py:call(?FIXTURE, send_from_thread, [self(), {Ref, <<"hello">>, 42}]),
    receive
        {thread_sent, {Ref, <<"hello">>, 42}} -> ok
    after 5000 ->
        ct:fail(no_message)
    end.

pids_and_refs_round_trip(_Config) ->
    Term = {self(), make_ref(), [make_ref(), spawn(fun() -> ok end)]},
    {ok, Term} = py:call(?FIXTURE, identity, [Term]),
    {ok, Term} = py:call(?FIXTURE, identity_via_thread, [Term]).

attribute_syntax_calls_erlang(_Config) ->
    {ok, {42, 42}} = py:call(?FIXTURE, attribute_syntax, []).

%% The GIL is released while a thread waits for Erlang.
%% A Python thread waiting in erlang.call reads the port's input itself and
%% keeps the reading between its calls. When it then stays away (here 2 s in
%% time.sleep outside any request), requests from Erlang are still read and
%% answered: the pool's watch takes the reading over within milliseconds.
requests_served_while_a_reading_thread_stays_away(_Config) ->
    {ok, <<"started">>} = py:call(?FIXTURE, call_then_stay_away, [self(), 50, 2.0]),
    receive called -> ok after 10000 -> ct:fail(thread_calls_not_done) end,
    Times = [begin
                 {Us, {ok, 3}} = timer:tc(fun() -> py:call(operator, add, [1, 2]) end),
                 Us div 1000
             end || _ <- lists:seq(1, 10)],
    ct:pal("py:call latencies (ms) while the thread stays away: ~p", [Times]),
    true = lists:max(Times) < 500.

%% The port holds a batch's replies back until the batch is done: a quick
%% call read together with one that sleeps or computes for a second must
%% still be answered at once (the hold ends when a request blocks, and the
%% watch flushes it while one computes).
quick_replies_do_not_wait_for_slow_requests_of_their_batch(_Config) ->
    %% The port is stopped while a quick call and then a slow one are
    %% written, so that it reads both at once: the quick reply is held back
    %% for the batch, and must go out without waiting for the slow request.
    Times = [quick_beside(Slow) || _ <- lists:seq(1, 5),
                                   Slow <- [{time, sleep}, {?FIXTURE, busy}]],
    ct:pal("quick reply after the port resumed (ms), beside slow requests: ~p", [Times]),
    true = lists:max(Times) < 250.

%% Milliseconds from the port's resumption to the quick call's answer, with
%% a 0.4 s call {M, F} in the same read.
quick_beside({M, F}) ->
    Test = self(),
    #{os_pid := OsPid} = py_coordinator:stats(),
    Signal = fun(Sig) -> os:cmd(io_lib:format("kill -~s ~b", [Sig, OsPid])) end,
    Signal("STOP"),
    %% kill(2) returns before every thread of the port has stopped: a thread
    %% still running could answer the quick call at once, and then
    %% await_waiting_for_reply/1 would wait for a process that is gone. That
    %% hung this suite under CPU load (1 run in 25, tests/stress/hang-hunt.sh).
    await_stopped(OsPid),
    try
        Quick = spawn_link(fun() ->
                                   {ok, 3} = py:call(operator, add, [1, 2]),
                                   Test ! {quick, erlang:monotonic_time(millisecond)}
                           end),
        await_waiting_for_reply(Quick),
        Slow = spawn_link(fun() -> Test ! {slow, py:call(M, F, [0.4])} end),
        await_waiting_for_reply(Slow)
    after
        put(resumed, erlang:monotonic_time(millisecond)),
        Signal("CONT")
    end,
    Resumed = get(resumed),
    T = receive {quick, At} -> At - Resumed after 10000 -> ct:fail(quick_call_stuck) end,
    receive {slow, {ok, _}} -> ok after 10000 -> ct:fail(slow_call_stuck) end,
    T.

%% Returns once every thread of OS process Pid is stopped (state T in
%% /proc/Pid/task/*/stat).
await_stopped(Pid) ->
    Dir = "/proc/" ++ integer_to_list(Pid) ++ "/task/",
    {ok, Tasks} = file:list_dir(Dir),
    States = [case file:read_file(Dir ++ T ++ "/stat") of
                  {ok, Stat} ->
                      binary:first(lists:last(binary:split(Stat, <<") ">>, [global])));
                  {error, _} ->
                      $T % the thread has exited
              end || T <- Tasks],
    case lists:all(fun(S) -> S =:= $T end, States) of
        true -> ok;
        false -> erlang:yield(), await_stopped(Pid)
    end.

%% Returns once Pid's request is written and it waits for the reply.
await_waiting_for_reply(Pid) ->
    case erlang:process_info(Pid, [current_function, status]) of
        [{current_function, {py_call, await_reply, _}}, {status, waiting}] ->
            ok;
        undefined ->
            ct:fail({answered_while_the_port_was_stopped, Pid});
        _ ->
            erlang:yield(),
            await_waiting_for_reply(Pid)
    end.

%% A Python thread started after threading.stack_size(256 KiB) has room for
%% far fewer levels than the depth limit (10,000): a deep value, either way,
%% is an exception in that thread, not a crash of the port.
deep_values_on_a_small_thread_stack_are_errors_not_crashes(_Config) ->
    #{os_pid := OsPid} = py_coordinator:stats(),
    ok = py:register_function(deep_list, fun([N]) -> nest(N) end),
    ok = py:exec(<<"
import threading, erlang
def _deep_in_thread(depth, stack):
    out = []
    def run():
        v = []
        for _ in range(depth):
            v = [v]
        for what, f in (('send', lambda: erlang.call('echo', v)),
                        ('receive', lambda: erlang.call('deep_list', depth))):
            try:
                r = f()
                n = 0
                while r:
                    r, n = r[0], n + 1
                out.append((what, 'ok', n))
            except Exception as e:
                out.append((what, type(e).__name__, str(e)))
    old = threading.stack_size(stack)
    try:
        t = threading.Thread(target=run)
        t.start()
    finally:
        threading.stack_size(old)
    t.join()
    return out
">>),
    {ok, Small} = py:eval(<<"_deep_in_thread(9000, 256 * 1024)">>),
    ct:pal("9,000 levels from a thread with a 256 KiB stack: ~p", [Small]),
    [{<<"send">>, <<"ValueError">>, SendText}, {<<"receive">>, <<"RuntimeError">>, ReceiveText}] = Small,
    {match, _} = re:run(SendText, <<"^value nested too deep for this thread's stack">>),
    {match, _} = re:run(ReceiveText, <<"nested too deep for this thread's stack">>),
    %% The default stack holds the same depth both ways.
    {ok, [{<<"send">>, <<"ok">>, 9000}, {<<"receive">>, <<"ok">>, 9000}]} =
        py:eval(<<"_deep_in_thread(9000, 0)">>),
    #{os_pid := OsPid} = py_coordinator:stats().

nest(0) -> [];
nest(N) -> [nest(N - 1)].

cpu_thread_runs_while_another_waits(_Config) ->
    {ok, {{slept, 300}, Iterations, Waited}} =
        py:call(?FIXTURE, cpu_progress_during_wait, [300]),
    ct:pal("~p loop iterations during a ~p ms Erlang call", [Iterations, Waited]),
    true = Waited >= 300,
    %% A GIL held across the wait would leave the spinning thread at ~0.
    true = Iterations > 100000.

%% Internal.

%% [50, {down, 50}, 49, {down, 49}, ..., 1, {down, 1}, 0]
expected_recursion(0) -> [0];
expected_recursion(N) -> [N, {down, N} | expected_recursion(N - 1)].

executor_threads() ->
    #{port := #{executor_threads := N}} = py:stats(),
    N.

%% Starts N concurrent py:calls that each park an executor in gate/1 and
%% waits until all N are parked. Returns [{GateHandler, Caller}].
occupy_executors(N) ->
    Test = self(),
    Callers = [spawn_link(fun() ->
                   Test ! {gate_result, I, py:call(?FIXTURE, block_on_gate, [Test, I], #{}, ?LONG)}
               end) || I <- lists:seq(1, N)],
    Parked = collect_gates(N, []),
    Running = length(Parked),
    case Running of
        N -> ok;
        _ -> release_gates(Parked),
             ct:fail({executors_running, Running, of_requests, N})
    end,
    ct:pal("~p requests parked in Python at once (callers ~p)", [Running, Callers]),
    Parked.

collect_gates(0, Acc) ->
    lists:sort(Acc);
collect_gates(N, Acc) ->
    receive
        {gate_waiting, I, Handler} -> collect_gates(N - 1, [{I, Handler} | Acc])
    after 3000 ->
        lists:sort(Acc)
    end.

%% Opens every parked gate and checks each blocked py:call returned.
release_gates(Gates) ->
    [Handler ! open || {_, Handler} <- Gates],
    [receive
         {gate_result, I, Result} -> {ok, {opened, I}} = Result
     after 10000 ->
         ct:fail({gate_stuck, I})
     end || {I, _} <- Gates],
    ok.
