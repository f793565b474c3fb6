%% @doc Pools of Python processes: settings, routing, register_pool, contexts, member crashes, init code.
-module(py_pool_SUITE).

-include_lib("common_test/include/ct.hrl").
-include("py_protocol.hrl").

-export([all/0, init_per_suite/1, end_per_suite/1]).
-export([pools_start_and_stop_at_run_time/1,
         bad_pool_settings_are_clear_errors/1,
         least_loaded_member_gets_the_call/1,
         register_pool_routes_a_module_or_a_function/1,
         a_context_pins_every_call_to_one_os_pid/1,
         registered_functions_are_callable_from_every_member/1,
         nested_call_in_a_callback_goes_back_to_its_member_and_thread/1,
         killed_member_fails_only_its_callers/1,
         init_code_runs_again_after_a_restart/1,
         pools_setting_sizes_the_default_pool/1,
         stats_show_every_pool_and_member/1,
         spawn_call_and_cast_take_a_pool_or_a_context/1,
         parallel_spreads_calls_over_a_pools_members/1,
         streams_take_a_target_and_stay_on_their_member/1,
         routes_and_run_time_pools_survive_a_restart_of_the_pools/1]).

-define(FIX, pool_fixture).
-define(INIT, <<"import os\nINIT_PID = os.getpid()\n"
                "def init_pid():\n    return INIT_PID\n">>).

all() ->
    [pools_start_and_stop_at_run_time, bad_pool_settings_are_clear_errors,
     least_loaded_member_gets_the_call, register_pool_routes_a_module_or_a_function,
     a_context_pins_every_call_to_one_os_pid, registered_functions_are_callable_from_every_member,
     nested_call_in_a_callback_goes_back_to_its_member_and_thread,
     killed_member_fails_only_its_callers, init_code_runs_again_after_a_restart,
     stats_show_every_pool_and_member, pools_setting_sizes_the_default_pool,
     spawn_call_and_cast_take_a_pool_or_a_context, parallel_spreads_calls_over_a_pools_members,
     streams_take_a_target_and_stay_on_their_member,
     routes_and_run_time_pools_survive_a_restart_of_the_pools].

init_per_suite(Config) ->
    ok = py_test_helper:start([?config(data_dir, Config)]),
    Config.

end_per_suite(_Config) ->
    py_test_helper:stop().

pools_start_and_stop_at_run_time(_Config) ->
    {ok, Sup} = py:start_pool(p_run, #{size => 2}),
    true = is_pid(Sup),
    {error, {already_started, p_run}} = py:start_pool(p_run, #{size => 1}),
    {ok, 4.0} = py:call(p_run, math, sqrt, [16]),
    {ok, 8.0} = py:call(p_run, math, pow, [2, 3], #{}),
    {ok, 9.0} = py:call(p_run, math, pow, [3, 2], #{}, 5000),
    true = lists:member(p_run, py_pool:pools()),
    2 = py_pool:pool_size(p_run),
    ok = py:stop_pool(p_run),
    false = lists:member(p_run, py_pool:pools()),
    {error, {no_pool, p_run}} = py:call(p_run, math, sqrt, [16]),
    {error, {no_pool, p_run}} = py:stop_pool(p_run),
    {error, default_pool} = py:stop_pool(default),
    %% The default pool served all along.
    {ok, 4.0} = py:call(math, sqrt, [16]).

bad_pool_settings_are_clear_errors(_Config) ->
    {error, {bad_pool_option, p_bad, size, 0, _}} = py:start_pool(p_bad, #{size => 0}),
    {error, {bad_pool_option, p_bad, colour, blue, Why}} = py:start_pool(p_bad, #{colour => blue}),
    {match, _} = re:run(Why, <<"pool setting">>),
    {error, {bad_pool_option, p_bad, call_timeout, -1, _}} =
        py:start_pool(p_bad, [{call_timeout, -1}]),
    {error, {bad_pool_option, p_bad, options, 42, _}} = py:start_pool(p_bad, 42),
    %% Init code that raises stops the start with Python's error.
    {error, {pool_init_failed, p_bad, {'ZeroDivisionError', _}}} =
        py:start_pool(p_bad, #{init => <<"1 / 0">>}),
    false = lists:member(p_bad, py_pool:pools()).

%% A member busy with a slow call has one pending request; the other has
%% none, so every call meanwhile goes to the other.
least_loaded_member_gets_the_call(_Config) ->
    {ok, _} = py:start_pool(p_load, #{size => 2}),
    Slow = py_call:post_to(p_load, ?PY_CALL, {<<"pool_fixture">>, <<"pid_after">>, [1.0], #{}},
                           default),
    {posted, Ref, Pending, _} = Slow,
    Pids = lists:usort([begin {ok, P} = py:call(p_load, os, getpid, []), P end
                        || _ <- lists:seq(1, 50)]),
    [Other] = Pids,
    {ok, Busy} = py_call:await(Ref, Pending, 5000),
    true = Busy =/= Other,
    ok = py:stop_pool(p_load).

register_pool_routes_a_module_or_a_function(_Config) ->
    {ok, _} = py:start_pool(p_route, #{size => 1}),
    {ok, DefaultPid} = py:call(os, getpid, []),
    {ok, RoutePid} = py:call(p_route, os, getpid, []),
    true = DefaultPid =/= RoutePid,
    ok = py:register_pool(p_route, os),
    {ok, RoutePid} = py:call(os, getpid, []),
    {ok, RoutePid} = py:call(<<"os">>, <<"getpid">>, [], #{}),
    %% A function's route wins over its module's.
    ok = py:register_pool(default, {os, getpid}),
    {ok, DefaultPid} = py:call(os, getpid, []),
    default = py_pool:lookup_pool(<<"os">>, <<"getpid">>),
    p_route = py_pool:lookup_pool(<<"os">>, <<"getcwd">>),
    ok = py:unregister_pool({os, getpid}),
    {ok, RoutePid} = py:call(os, getpid, []),
    ok = py:unregister_pool(os),
    {ok, DefaultPid} = py:call(os, getpid, []),
    ok = py:stop_pool(p_route).

a_context_pins_every_call_to_one_os_pid(_Config) ->
    {ok, _} = py:start_pool(p_ctx, #{size => 2}),
    Ctx = py:context(p_ctx),
    {py_context, _, p_ctx, Index} = Ctx,
    Pids = [begin {ok, P} = py:call(Ctx, os, getpid, []), P end || _ <- lists:seq(1, 100)],
    [Pid] = lists:usort(Pids),
    %% Another process with the same handle, concurrently with us.
    Self = self(),
    Others = [spawn_link(fun() ->
                                 R = [py:call(Ctx, os, getpid, []) || _ <- lists:seq(1, 50)],
                                 Self ! {self(), lists:usort(R)}
                         end) || _ <- lists:seq(1, 4)],
    [receive {O, [{ok, Pid}]} -> ok end || O <- Others],
    %% eval and exec with the context, and context(Pool, N).
    {ok, Pid} = py:eval(Ctx, <<"__import__('os').getpid()">>),
    Ctx = py:context({p_ctx, Index}),
    Other = py:context({p_ctx, 3 - Index}),
    {ok, OtherPid} = py:call(Other, os, getpid, []),
    true = OtherPid =/= Pid,
    {'EXIT', {{no_member, p_ctx, 3}, _}} = catch py:context({p_ctx, 3}),
    ok = py:stop_pool(p_ctx).

registered_functions_are_callable_from_every_member(_Config) ->
    {ok, _} = py:start_pool(p_reg, #{size => 2}),
    ok = py:register_function(pool_twice, fun([X]) -> 2 * X end),
    [{ok, 42} = py:eval(py:context({p_reg, I}), <<"erlang.call('pool_twice', 21)">>)
     || I <- [1, 2]],
    %% A member started after the registration knows it too.
    {ok, _} = py:start_pool(p_reg2, #{size => 1}),
    {ok, 10} = py:eval(p_reg2, <<"erlang.call('pool_twice', 5)">>),
    ok = py:unregister_function(pool_twice),
    ok = py:stop_pool(p_reg2),
    ok = py:stop_pool(p_reg).

%% The callback's own py:call (no pool named) runs on the very member and
%% Python thread that is waiting for the callback.
nested_call_in_a_callback_goes_back_to_its_member_and_thread(_Config) ->
    {ok, _} = py:start_pool(p_nest, #{size => 2}),
    ok = py:register_function(where_am_i, fun([]) ->
                                                  {ok, Here} = py:call(?FIX, ident, []),
                                                  Here
                                          end),
    [begin
         Ctx = py:context({p_nest, I}),
         {ok, [Inner, Outer]} = py:call(Ctx, ?FIX, nested, []),
         Inner = Outer
     end || I <- [1, 2], _ <- lists:seq(1, 5)],
    ok = py:unregister_function(where_am_i),
    ok = py:stop_pool(p_nest).

%% SIGKILL one member while callers wait on it: they (and only they) get
%% port_exit; 1,000 calls on the other member meanwhile all succeed.
killed_member_fails_only_its_callers(_Config) ->
    {ok, _} = py:start_pool(p_kill, #{size => 2}),
    Victim = py:context({p_kill, 1}),
    Healthy = py:context({p_kill, 2}),
    {ok, VictimPid} = py:call(Victim, os, getpid, []),
    {ok, HealthyPid} = py:call(Healthy, os, getpid, []),
    Self = self(),
    Waiters = [spawn_link(fun() -> Self ! {waiter, self(), py:call(Victim, time, sleep, [30])} end)
               || _ <- lists:seq(1, 5)],
    py_test_helper:wait_until(waiters_pending,
                              fun() -> N = pending(p_kill, 1), {N >= 5, N} end, 5000),
    Workers = [spawn_link(fun() ->
                                  R = [py:call(Healthy, os, getpid, []) || _ <- lists:seq(1, 100)],
                                  Self ! {worker, self(), lists:usort(R)}
                          end) || _ <- lists:seq(1, 10)],
    "" = os:cmd("kill -KILL " ++ integer_to_list(VictimPid)),
    %% The signal, or epipe when a write to the dying process came first.
    [receive {waiter, W, {error, {port_exit, How}}} when How =:= {signal, 9}; How =:= epipe -> ok
     end || W <- Waiters],
    [receive {worker, W, [{ok, HealthyPid}]} -> ok end || W <- Workers],
    %% The victim comes back as a new process; the other never stopped.
    {ok, NewPid} = py:call(Victim, os, getpid, []),
    true = NewPid =/= VictimPid,
    {ok, HealthyPid} = py:call(Healthy, os, getpid, []),
    #{pools := #{p_kill := #{members := Members}}} = py:stats(),
    [#{index := 1, restarts := 1, os_pid := NewPid}, #{index := 2, restarts := 0}] =
        by_index(Members),
    ok = py:stop_pool(p_kill).

init_code_runs_again_after_a_restart(_Config) ->
    {ok, _} = py:start_pool(p_init, #{size => 1, init => ?INIT}),
    {ok, Pid1} = py:call(p_init, '__main__', init_pid, []),
    {ok, Pid1} = py:call(p_init, os, getpid, []),
    "" = os:cmd("kill -KILL " ++ integer_to_list(Pid1)),
    py_test_helper:wait_until(restarted, fun() ->
                                                 case py:call(p_init, os, getpid, []) of
                                                     {ok, P} when P =/= Pid1 -> {true, P};
                                                     Other -> {false, Other}
                                                 end
                                         end, 10000),
    {ok, Pid2} = py:call(p_init, os, getpid, []),
    {ok, Pid2} = py:call(p_init, '__main__', init_pid, []),
    ok = py:stop_pool(p_init).

stats_show_every_pool_and_member(_Config) ->
    {ok, _} = py:start_pool(p_stats, #{size => 2, executor_threads => 3}),
    #{pools := #{default := #{size := 1}, p_stats := #{size := 2, members := Members}}} = py:stats(),
    [#{index := 1, os_pid := P1, pending := 0, restarts := 0, executors := E1},
     #{index := 2, os_pid := P2, pending := 0, restarts := 0}] = by_index(Members),
    true = is_integer(P1) andalso is_integer(P2) andalso P1 =/= P2,
    true = E1 >= 1,
    ok = py:stop_pool(p_stats).

%% The `pools' setting: the default pool of 2, and a pool started with the
%% application.
pools_setting_sizes_the_default_pool(Config) ->
    ok = application:stop(erlang_python),
    ok = application:set_env(erlang_python, pools, [{default, #{size => 2}},
                                                    {p_conf, [{size, 1}, {init, ?INIT}]}]),
    try
        ok = application:start(erlang_python),
        2 = py_pool:pool_size(default),
        1 = py_pool:pool_size(p_conf),
        {ok, 4.0} = py:call(math, sqrt, [16]),
        {ok, P} = py:call(p_conf, '__main__', init_pid, []),
        true = is_integer(P),
        %% Both default members serve.
        Self = self(),
        [spawn_link(fun() -> Self ! {slow, py:call(?FIX, pid_after, [0.5])} end)
         || _ <- [1, 2]],
        Pids = lists:usort([receive {slow, {ok, Pid}} -> Pid end || _ <- [1, 2]]),
        2 = length(Pids),
        ok = application:stop(erlang_python),
        ok = application:set_env(erlang_python, pools, [{p_conf, #{sise => 1}}]),
        {error, {{bad_pool_option, p_conf, sise, 1, _}, _}} = application:start(erlang_python)
    after
        _ = application:stop(erlang_python),
        ok = application:unset_env(erlang_python, pools),
        ok = application:start(erlang_python),
        [_ | _] = ?config(data_dir, Config)
    end.

%% spawn_call (await, cancel), async_call and cast on a pool and on a
%% context: each form runs where its target says.
spawn_call_and_cast_take_a_pool_or_a_context(_Config) ->
    {ok, _} = py:start_pool(p_async, #{size => 2}),
    MemberPids = lists:sort([begin {ok, P} = py:call(py:context({p_async, I}), os, getpid, []), P end
                             || I <- [1, 2]]),
    {ok, DefaultPid} = py:call(os, getpid, []),
    %% A pool: any of its members, never the default pool's.
    H1 = py:spawn_call(p_async, os, getpid, []),
    {ok, P1} = py:await(H1),
    true = lists:member(P1, MemberPids),
    %% A context: always its member, with Kwargs and with a timeout too.
    Ctx = py:context({p_async, 2}),
    {ok, CtxPid} = py:call(Ctx, os, getpid, []),
    [{ok, CtxPid} = py:await(py:spawn_call(Ctx, os, getpid, [])) || _ <- lists:seq(1, 20)],
    {ok, 8} = py:await(py:spawn_call(Ctx, operator, pow, [2, 3], #{})),
    {ok, CtxPid} = py:await(py:spawn_call(Ctx, ?FIX, pid_after, [0], #{}, 5000)),
    {ok, CtxPid} = py:async_await(py:async_call(Ctx, os, getpid, [])),
    %% The old forms still go to the default pool.
    {ok, DefaultPid} = py:await(py:spawn_call(os, getpid, [], #{})),
    {ok, DefaultPid} = py:await(py:spawn_call(os, getpid, [], #{}, 5000)),
    %% await with a timeout leaves the call running on its member; cancel
    %% interrupts it there.
    Slow = py:spawn_call(Ctx, ?FIX, pid_after, [30]),
    {error, timeout} = py:await(Slow, 50),
    1 = pending(p_async, 2),
    ok = py:cancel(Slow),
    py_test_helper:wait_until(cancelled_on_its_member,
                              fun() -> N = pending(p_async, 2), {N =:= 0, N} end, 5000),
    %% cast: runs on the target; the function tells us where.
    Self = self(),
    ok = py:cast(Ctx, ?FIX, tell, [Self, ctx]),
    receive {ctx, CtxPid} -> ok after 10000 -> ct:fail(no_cast_ctx) end,
    ok = py:cast(Ctx, ?FIX, tell, [Self], #{tag => ctx_kw}),
    receive {ctx_kw, CtxPid} -> ok after 10000 -> ct:fail(no_cast_kw) end,
    ok = py:cast(Ctx, ?FIX, tell, [Self, ctx_t], #{}, 5000),
    receive {ctx_t, CtxPid} -> ok after 10000 -> ct:fail(no_cast_timeout) end,
    ok = py:cast(p_async, ?FIX, tell, [Self, pool]),
    receive {pool, PoolPid} -> true = lists:member(PoolPid, MemberPids)
    after 10000 -> ct:fail(no_cast_pool)
    end,
    ok = py:cast(?FIX, tell, [Self, default], #{}),
    receive {default, DefaultPid} -> ok after 10000 -> ct:fail(no_cast_default) end,
    %% A pool that does not run: the error comes with await.
    {error, {no_pool, p_none}} = py:await(py:spawn_call(p_none, os, getpid, [])),
    %% A route made with register_pool applies to spawn_call and cast too.
    ok = py:register_pool(p_async, {?FIX, tell}),
    ok = py:cast(?FIX, tell, [Self, routed], #{}),
    receive {routed, RoutedPid} -> true = lists:member(RoutedPid, MemberPids)
    after 10000 -> ct:fail(no_cast_routed)
    end,
    ok = py:unregister_pool({?FIX, tell}),
    ok = py:stop_pool(p_async).

%% parallel on a pool of 2: the calls are spread over both members (each
%% goes to the member with the fewest pending requests when it is sent);
%% on a context they all run in its member.
parallel_spreads_calls_over_a_pools_members(_Config) ->
    {ok, _} = py:start_pool(p_par, #{size => 2}),
    MemberPids = lists:sort([begin {ok, P} = py:call(py:context({p_par, I}), os, getpid, []), P end
                             || I <- [1, 2]]),
    {ok, Pids} = py:parallel(p_par, [{?FIX, pid_after, [0.3]} || _ <- lists:seq(1, 4)]),
    4 = length(Pids),
    MemberPids = lists:usort(Pids),
    [2, 2] = [length([P || P <- Pids, P =:= M]) || M <- MemberPids],
    Ctx = py:context({p_par, 1}),
    {ok, CtxPid} = py:call(Ctx, os, getpid, []),
    {ok, [CtxPid, CtxPid, CtxPid]} =
        py:parallel(Ctx, [{?FIX, pid_after, [0.1]}, {os, getpid, []}, {?FIX, pid_after, [0], #{}}]),
    {error, {'ZeroDivisionError', _}} = py:parallel(p_par, [{os, getpid, []}, {operator, truediv, [1, 0]}]),
    ok = py:stop_pool(p_par).

%% stream, stream_eval and stream_start on a pool and on a context; a
%% windowed stream stays on the member that runs it: its acks let that
%% member's generator go on, its cancel closes that generator.
streams_take_a_target_and_stay_on_their_member(_Config) ->
    {ok, _} = py:start_pool(p_stream, #{size => 2}),
    Ctx = py:context({p_stream, 2}),
    {ok, CtxPid} = py:call(Ctx, os, getpid, []),
    {ok, [CtxPid, CtxPid, CtxPid]} = py:stream(Ctx, ?FIX, pids, [3]),
    {ok, [CtxPid]} = py:stream(Ctx, ?FIX, pids, [1], #{}),
    {ok, [P, P]} = py:stream(p_stream, ?FIX, pids, [2]),
    true = is_integer(P),
    {ok, [0, 1, 4]} = py:stream_eval(Ctx, <<"(x * x for x in range(3))">>),
    {ok, [CtxPid, 10]} = py:stream_eval(Ctx, <<"iter([__import__('os').getpid(), n])">>, #{n => 10}),
    %% Windowed, on the context's member.
    {ok, Ref} = py:stream_start(Ctx, ?FIX, pids, [10], #{window => 2}),
    [receive {py_stream, Ref, {data, CtxPid}} -> ok after 10000 -> ct:fail(no_item) end
     || _ <- [1, 2]],
    %% The window is full: that member's generator waits for credit.
    {ok, [2, false]} = py:call(Ctx, ?FIX, progress, []),
    ok = py:stream_ack(Ref, 2),
    [receive {py_stream, Ref, {data, CtxPid}} -> ok after 10000 -> ct:fail(no_item) end
     || _ <- [3, 4]],
    {ok, [4, false]} = py:call(Ctx, ?FIX, progress, []),
    ok = py:stream_cancel(Ref),
    py_test_helper:wait_until(generator_closed_on_its_member,
                              fun() -> {ok, [N, C]} = py:call(Ctx, ?FIX, progress, []), {C, N} end,
                              5000),
    %% stream_start/4 with a target, to the end.
    {ok, Ref2} = py:stream_start(p_stream, ?FIX, pids, [2]),
    [receive {py_stream, Ref2, {data, _}} -> ok after 10000 -> ct:fail(no_item) end || _ <- [1, 2]],
    receive {py_stream, Ref2, done} -> ok after 10000 -> ct:fail(no_done) end,
    ok = py:stop_pool(p_stream).

%% py:register_pool routes and a pool started with py:start_pool come back
%% when py_pools_sup is restarted (here: killed), with the pool's settings.
routes_and_run_time_pools_survive_a_restart_of_the_pools(_Config) ->
    {ok, _} = py:start_pool(p_keep, #{size => 1, init => ?INIT}),
    ok = py:register_pool(p_keep, {os, getpid}),
    {ok, KeptPid} = py:call(p_keep, '__main__', init_pid, []),
    {ok, KeptPid} = py:call(os, getpid, []),
    Before = incarnations([default, p_keep]),
    exit(whereis(py_pools_sup), kill),
    ok = await_new_members([default, p_keep], Before),
    %% The route still goes to the pool, a new process whose init ran again.
    {ok, NewPid} = py:call(os, getpid, []),
    true = NewPid =/= KeptPid,
    {ok, NewPid} = py:call(p_keep, '__main__', init_pid, []),
    {ok, DefaultPid} = py:call(default, os, getpid, []),
    true = DefaultPid =/= NewPid,
    %% A pool stopped is not started again by the next restart.
    ok = py:stop_pool(p_keep),
    Before2 = incarnations([default]),
    exit(whereis(py_pools_sup), kill),
    ok = await_new_members([default], Before2),
    false = lists:member(p_keep, py_pool:pools()),
    {error, {no_pool, p_keep}} = py:call(os, getpid, []),
    ok = py:unregister_pool({os, getpid}),
    {ok, DefaultPid2} = py:call(os, getpid, []),
    true = is_integer(DefaultPid2).

%% The incarnation of member 1 of each pool that runs it now.
incarnations(Pools) ->
    [{P, Inc} || P <- Pools, {ok, #py_port{incarnation = Inc}} <- [py_pool:member(P, 1)]].

%% Waits until member 1 of each pool runs in a new port (an incarnation
%% not in Old).
await_new_members(Pools, Old) ->
    py_test_helper:wait_until({new_members, Pools},
                              fun() ->
                                      Now = incarnations(Pools),
                                      {length(Now) =:= length(Pools)
                                       andalso Now -- Old =:= Now, Now}
                              end, 30000),
    ok.

pending(Pool, Index) ->
    {ok, #py_port{pending = Pending}} = py_pool:member(Pool, Index),
    ets:info(Pending, size).

%% Members in the order of their index (a plain sort of the maps would
%% order them by their first differing value, `executors').
by_index(Members) ->
    lists:sort(fun(#{index := A}, #{index := B}) -> A =< B end, Members).
