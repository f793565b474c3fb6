%% @doc Calls that do not block the caller: py:cast, py:spawn_call with
%% py:await and py:cancel, and py:parallel.
-module(py_async_SUITE).

-include_lib("common_test/include/ct.hrl").

-export([all/0, init_per_suite/1, end_per_suite/1, init_per_testcase/2]).
-export([log/2]). % a logger handler, for the cast case
-export([cast_runs_the_call_and_returns_at_once/1,
         cast_logs_a_python_exception_with_its_traceback/1,
         spawn_call_then_await/1,
         await_timeout_leaves_the_call_running/1,
         cancel_interrupts_the_call/1,
         only_the_spawning_process_awaits/1,
         parallel_runs_at_once_and_keeps_order/1,
         parallel_returns_the_first_error/1,
         spawned_call_learns_of_a_port_crash/1,
         spawn_call_inside_a_callback_goes_to_the_waiting_thread/1]).

-define(FIX, async_fixture).

all() ->
    [cast_runs_the_call_and_returns_at_once,
     cast_logs_a_python_exception_with_its_traceback,
     spawn_call_then_await,
     await_timeout_leaves_the_call_running,
     cancel_interrupts_the_call,
     only_the_spawning_process_awaits,
     parallel_runs_at_once_and_keeps_order,
     parallel_returns_the_first_error,
     spawned_call_learns_of_a_port_crash,
     spawn_call_inside_a_callback_goes_to_the_waiting_thread].

init_per_suite(Config) ->
    ok = py_test_helper:start([?config(data_dir, Config)]),
    Config.

end_per_suite(_Config) ->
    py_test_helper:stop().

init_per_testcase(_Case, Config) ->
    {ok, _} = py:call(?FIX, clear, []),
    Config.

cast_runs_the_call_and_returns_at_once(_Config) ->
    {Us, ok} = timer:tc(fun() -> py:cast(?FIX, sleep_then, [0.5, x]) end),
    true = Us < 100000,
    ok = py:cast(?FIX, record, [<<"cast">>]),
    ok = py:cast(?FIX, record, [<<"cast_kw">>], #{}),
    ok = py:cast(?FIX, record, [<<"cast_t">>], #{}, 5000),
    wait_for_events([<<"cast">>, <<"cast_kw">>, <<"cast_t">>]),
    %% Bad arguments fail in the caller, as for py:call.
    {'EXIT', {function_clause, _}} = (catch py:cast(?FIX, record, not_a_list)),
    {'EXIT', {function_clause, _}} = (catch py:cast(?FIX, record, [a], #{}, -1)),
    ok. % not the match: Common Test takes a case that returns {'EXIT', _} for failed

cast_logs_a_python_exception_with_its_traceback(_Config) ->
    ok = logger:add_handler(async_capture, ?MODULE, #{config => #{pid => self()}}),
    try
        ok = py:cast(?FIX, fail, [<<"cast failure 42">>]),
        Text = receive {logged, error, T} -> T after 10000 -> ct:fail(nothing_logged) end,
        {match, _} = re:run(Text, "ValueError"),
        {match, _} = re:run(Text, "cast failure 42"),
        {match, _} = re:run(Text, "Traceback \\(most recent call last\\)"),
        {match, _} = re:run(Text, "async_fixture.py")
    after
        logger:remove_handler(async_capture)
    end.

spawn_call_then_await(_Config) ->
    H1 = py:spawn_call(math, sqrt, [100]),
    H2 = py:spawn_call(math, sqrt, [144], #{}),
    true = is_reference(H1),
    {ok, 12.0} = py:await(H2),
    {ok, 10.0} = py:await(H1, 5000),
    %% A handle is awaited once.
    {'EXIT', {badarg, _}} = (catch py:await(H1)),
    {error, {'ValueError', <<"boom">>}} = py:await(py:spawn_call(?FIX, fail, [<<"boom">>])).

await_timeout_leaves_the_call_running(_Config) ->
    H = py:spawn_call(?FIX, sleep_then, [0.5, <<"late">>]),
    {error, timeout} = py:await(H, 50),
    {ok, <<"late">>} = py:await(H, 5000),
    #{pending_calls := 0, cancelled := Cancelled} = py:stats(),
    ct:pal("cancelled so far: ~p", [Cancelled]).

cancel_interrupts_the_call(_Config) ->
    #{cancelled := C0} = py:stats(),
    H = py:spawn_call(?FIX, sleep_or_record_interrupt, [5, <<"c">>]),
    {error, timeout} = py:await(H, 0),
    wait_for_events([<<"c:started">>]),
    ok = py:cancel(H),
    wait_for_events([<<"c:interrupted">>]),
    #{cancelled := C1} = py:stats(),
    true = C1 =:= C0 + 1,
    {'EXIT', {badarg, _}} = (catch py:await(H, 0)),
    ok = py:cancel(H), % again: nothing to do
    %% No answer is left behind in the mailbox.
    {messages, []} = process_info(self(), messages).

only_the_spawning_process_awaits(_Config) ->
    H = py:spawn_call(math, sqrt, [4]),
    Self = self(),
    spawn_link(fun() -> Self ! {other, catch py:await(H, 100)} end),
    {'EXIT', {badarg, _}} = receive {other, R} -> R end,
    {ok, 2.0} = py:await(H).

parallel_runs_at_once_and_keeps_order(_Config) ->
    Calls = [{?FIX, sleep_then, [0.5, I]} || I <- lists:seq(1, 6)]
        ++ [{math, pow, [2, 10], #{}}],
    {Us, {ok, Results}} = timer:tc(fun() -> py:parallel(Calls) end),
    ct:pal("6 x 0.5 s sleeps and a pow in parallel: ~b ms", [Us div 1000]),
    [1, 2, 3, 4, 5, 6, 1024.0] = Results,
    true = Us < 2000000,
    {ok, []} = py:parallel([]),
    {'EXIT', {badarg, _}} = (catch py:parallel([{math, sqrt}])),
    ok.

parallel_returns_the_first_error(_Config) ->
    {error, {'ValueError', <<"first">>}} =
        py:parallel([{math, sqrt, [4]}, {?FIX, fail, [<<"first">>]}, {?FIX, fail, [<<"second">>]}]).

spawned_call_learns_of_a_port_crash(_Config) ->
    H = py:spawn_call(?FIX, sleep_then, [30, never]),
    {error, timeout} = py:await(H, 100),
    {ok, OsPid} = py:call(os, getpid, []),
    os:cmd("kill -KILL " ++ integer_to_list(OsPid)),
    {error, {port_exit, {signal, 9}}} = py:await(H, 5000).

%% A callback (a handler process) that spawns a call: the call runs on the
%% Python thread waiting for the callback, and is awaited there.
spawn_call_inside_a_callback_goes_to_the_waiting_thread(_Config) ->
    ok = py:register_function(spawn_and_await, fun([X]) ->
                                                        H = py:spawn_call(math, sqrt, [X]),
                                                        {ok, V} = py:await(H),
                                                        V
                                                end),
    {ok, 3.0} = py:eval(<<"erlang.call('spawn_and_await', 9)">>),
    ok = py:unregister_function(spawn_and_await).

%% logger handler: forwards formatted events to the test process.
log(#{level := Level, msg := Msg}, #{config := #{pid := Pid}}) ->
    Text = case Msg of
               {report, R} -> io_lib:format("~p", [R]);
               {string, S} -> S;
               {F, A} -> io_lib:format(F, A)
           end,
    Pid ! {logged, Level, unicode:characters_to_binary(Text)}.

%% Internal.

wait_for_events(Expected) ->
    py_test_helper:wait_for_events(?FIX, Expected).
