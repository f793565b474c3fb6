%% @doc Pools on other nodes: calls through distribution, callbacks served where Python runs, cluster routing, nodedown.
%%
%% The peers are OTP `peer' nodes on the loopback. There is no epmd: for
%% a *_dist_SUITE, tests/ct/run-ct.sh starts ct_run with a real name and an
%% epmd-less discovery module (py_dist_epmd_helper: a node's port is in its
%% name), and the peers get the same.
-module(py_dist_SUITE).

-include_lib("common_test/include/ct.hrl").

-export([all/0, init_per_suite/1, end_per_suite/1, init_per_testcase/2, end_per_testcase/2]).
-export([a_call_to_a_pool_on_another_node_returns_its_value/1,
         a_python_thread_there_calls_a_function_registered_there/1,
         cluster_routing_picks_members_on_every_node/1,
         killing_the_peer_answers_pending_callers_with_nodedown/1,
         eval_and_exec_there_run_in_the_callers_namespace/1,
         spawn_call_cast_and_parallel_reach_another_node/1,
         streams_on_another_node/1]).

-define(COOKIE, erlang_python_ct).

all() ->
    [a_call_to_a_pool_on_another_node_returns_its_value,
     a_python_thread_there_calls_a_function_registered_there,
     cluster_routing_picks_members_on_every_node,
     killing_the_peer_answers_pending_callers_with_nodedown,
     eval_and_exec_there_run_in_the_callers_namespace,
     spawn_call_cast_and_parallel_reach_another_node,
     streams_on_another_node].

init_per_suite(Config) ->
    %% run-ct.sh named this node; a run without that name cannot host peers.
    true = node() =/= nonode@nohost,
    ?COOKIE = erlang:get_cookie(),
    ok = py_test_helper:start([?config(data_dir, Config)]),
    Config.

end_per_suite(_Config) ->
    py_test_helper:stop().

init_per_testcase(_Case, Config) ->
    {Peer, Node} = start_peer(Config),
    [{peer, Peer}, {node, Node} | Config].

end_per_testcase(_Case, Config) ->
    catch peer:stop(?config(peer, Config)),
    ok.

a_call_to_a_pool_on_another_node_returns_its_value(Config) ->
    Node = ?config(node, Config),
    {ok, 4.0} = py:call({default, Node}, math, sqrt, [16]),
    {ok, 8.0} = py:call({default, Node}, math, pow, [2, 3], #{}),
    {ok, RemotePid} = py:call({default, Node}, os, getpid, []),
    {ok, RemotePid} = erpc:call(Node, py, call, [os, getpid, []]),
    {ok, LocalPid} = py:call(os, getpid, []),
    true = RemotePid =/= LocalPid,
    %% A pool started there, and a context of it used from here.
    {ok, _} = erpc:call(Node, py, start_pool, [remote_pool, #{size => 2}]),
    {ok, 3} = py:call({remote_pool, Node}, operator, add, [1, 2]),
    Ctx = erpc:call(Node, py, context, [remote_pool]),
    {py_context, Node, remote_pool, _} = Ctx,
    {ok, CtxPid} = py:call(Ctx, os, getpid, []),
    [{ok, CtxPid} = py:call(Ctx, os, getpid, []) || _ <- lists:seq(1, 20)],
    {ok, 42} = py:eval({remote_pool, Node}, <<"6 * 7">>),
    %% A Python error comes back as it does here.
    {error, {'ZeroDivisionError', _}} = py:eval({default, Node}, <<"1 / 0">>),
    {error, {no_pool, nowhere}} = py:call({nowhere, Node}, math, sqrt, [4]).

a_python_thread_there_calls_a_function_registered_there(Config) ->
    Node = ?config(node, Config),
    ok = erpc:call(Node, py, register_function, [peer_sum, lists, sum]),
    {ok, 6} = py:call({default, Node}, dist_fixture, thread_call, [<<"peer_sum">>, [1, 2, 3]]),
    %% Not registered here: the same call on this node fails in Python.
    {ok, <<"error: ", _/binary>>} = py:call(dist_fixture, thread_call, [<<"peer_sum">>, [1]]).

%% {cluster, Pool} picks any member of the pool on any connected node; a
%% node that goes away is no longer picked.
cluster_routing_picks_members_on_every_node(Config) ->
    Node = ?config(node, Config),
    {ok, _} = py:start_pool(shared, #{size => 1}),
    {ok, _} = erpc:call(Node, py, start_pool, [shared, #{size => 1}]),
    {ok, LocalPid} = py:call(shared, os, getpid, []),
    {ok, RemotePid} = py:call({shared, Node}, os, getpid, []),
    py_test_helper:wait_until(both_members_known,
                              fun() -> M = py_dist:members(shared), {length(M) =:= 2, M} end, 5000),
    Seen = lists:usort([begin {ok, P} = py:call({cluster, shared}, os, getpid, []), P end
                        || _ <- lists:seq(1, 60)]),
    Seen = lists:usort([LocalPid, RemotePid]),
    ok = peer:stop(?config(peer, Config)),
    py_test_helper:wait_until(remote_member_gone,
                              fun() -> M = py_dist:members(shared), {length(M) =:= 1, M} end, 5000),
    [{ok, LocalPid} = py:call({cluster, shared}, os, getpid, []) || _ <- lists:seq(1, 30)],
    ok = py:stop_pool(shared).

%% 20 callers wait on the peer's Python; the peer's VM is killed (SIGKILL):
%% each gets {error, {nodedown, Node}} within a second.
killing_the_peer_answers_pending_callers_with_nodedown(Config) ->
    Node = ?config(node, Config),
    BeamPid = erpc:call(Node, os, getpid, []),
    Self = self(),
    Callers = [spawn_link(fun() ->
                                  R = py:call({default, Node}, dist_fixture, pid_after, [30]),
                                  Self ! {done, self(), R, erlang:monotonic_time(millisecond)}
                          end) || _ <- lists:seq(1, 20)],
    py_test_helper:wait_until(callers_pending_there,
                              fun() ->
                                      #{pending_calls := N} = erpc:call(Node, py_coordinator, stats, []),
                                      {N >= 20, N}
                              end, 10000),
    Killed = erlang:monotonic_time(millisecond),
    "" = os:cmd("kill -KILL " ++ BeamPid),
    Times = [receive {done, C, {error, {nodedown, Node}}, T} -> T - Killed
             after 5000 -> ct:fail({no_answer, C})
             end || C <- Callers],
    ct:pal("pending callers answered {error, {nodedown, _}} ~b..~b ms after the kill",
           [lists:min(Times), lists:max(Times)]),
    true = lists:max(Times) < 1000,
    {error, {nodedown, Node}} = py:call({default, Node}, math, sqrt, [4]).

%% eval/exec sent to the peer run in a namespace there owned by the calling
%% process here: A's `x = 1' is invisible to B; '__main__' calls resolve
%% in it; the peer's keeper frees it when A exits (a monitor across the
%% nodes) or closes it; a member's death loses it once (context_lost).
eval_and_exec_there_run_in_the_callers_namespace(Config) ->
    Node = ?config(node, Config),
    There = {default, Node},
    Count = fun() -> erpc:call(Node, py_pool_keeper, count, [default]) end,
    0 = Count(),
    Self = self(),
    A = spawn_link(fun() ->
                           ok = py:exec(There, <<"x = 1\ndef get_x():\n    return x\n">>),
                           Self ! {a, py:eval(There, <<"x">>),
                                   py:call(There, '__main__', get_x, [])},
                           receive stop -> ok end
                   end),
    receive {a, {ok, 1}, {ok, 1}} -> ok after 10000 -> ct:fail(no_answer_from_a) end,
    1 = Count(),
    %% B, another process here: none of A's names.
    _B = spawn_link(fun() -> Self ! {b, py:eval(There, <<"x">>),
                                    py:call(There, '__main__', get_x, [])} end),
    receive {b, {error, {'NameError', _}}, {error, _}} -> ok after 10000 -> ct:fail(no_answer_from_b)
    end,
    %% Nor does the peer's own process see it.
    {error, {'NameError', _}} = erpc:call(Node, py, eval, [<<"x">>]),
    %% A exits: the peer frees its namespace.
    unlink(A),
    exit(A, kill),
    py_test_helper:wait_until(namespace_freed_there, fun() -> N = Count(), {N =:= 0, N} end, 5000),
    %% close_namespace, with {Pool, Node} and with a context of the peer.
    ok = py:exec(There, <<"y = 2">>),
    {ok, 2} = py:eval(There, <<"y">>),
    ok = py:close_namespace(There),
    0 = Count(),
    {error, {'NameError', _}} = py:eval(There, <<"y">>),
    Ctx = erpc:call(Node, py, context, [default]),
    ok = py:exec(Ctx, <<"z = 3">>),
    {ok, 3} = py:eval(Ctx, <<"z">>),
    {ok, 3} = py:eval(There, <<"z">>),          % the same member, the same namespace
    ok = py:close_namespace(Ctx),
    {error, {'NameError', _}} = py:eval(Ctx, <<"z">>),
    %% The member there dies: the namespace is lost, said once.
    ok = py:exec(There, <<"w = 4">>),
    {ok, OsPid} = erpc:call(Node, py, call, [os, getpid, []]),
    "" = os:cmd("kill -KILL " ++ integer_to_list(OsPid)),
    py_test_helper:wait_until(member_back_there,
                              fun() ->
                                      R = erpc:call(Node, py, call, [os, getpid, []]),
                                      {element(1, R) =:= ok andalso R =/= {ok, OsPid}, R}
                              end, 30000),
    {error, {context_lost, _}} = py:eval(There, <<"w">>),
    {error, {'NameError', _}} = py:eval(There, <<"w">>),
    ok = py:close_namespace(There),
    py_test_helper:wait_until(all_freed_there, fun() -> N = Count(), {N =:= 0, N} end, 5000).

%% spawn_call (await, cancel), cast and parallel with {Pool, Node} and
%% {cluster, Pool}; a spawned call whose node goes down answers nodedown.
spawn_call_cast_and_parallel_reach_another_node(Config) ->
    Node = ?config(node, Config),
    There = {default, Node},
    {ok, RemotePid} = py:call(There, os, getpid, []),
    {ok, RemotePid} = py:await(py:spawn_call(There, os, getpid, [])),
    {ok, 8} = py:await(py:spawn_call(There, operator, pow, [2, 3], #{})),
    {ok, RemotePid} = py:await(py:spawn_call(There, dist_fixture, pid_after, [0], #{}, 5000)),
    {error, {'ZeroDivisionError', _}} = py:await(py:spawn_call(There, operator, truediv, [1, 0])),
    %% A context of the peer.
    Ctx = erpc:call(Node, py, context, [default]),
    {ok, RemotePid} = py:await(py:spawn_call(Ctx, os, getpid, [])),
    %% await with a timeout leaves the call running there; cancel interrupts it.
    Pending = fun() -> #{pending_calls := N} = erpc:call(Node, py_coordinator, stats, []), N end,
    Slow = py:spawn_call(There, dist_fixture, pid_after, [30]),
    {error, timeout} = py:await(Slow, 100),
    py_test_helper:wait_until(posted_there, fun() -> N = Pending(), {N =:= 1, N} end, 5000),
    ok = py:cancel(Slow),
    py_test_helper:wait_until(cancelled_there, fun() -> N = Pending(), {N =:= 0, N} end, 5000),
    %% parallel: every call there.
    {ok, [RemotePid, RemotePid, 3]} =
        py:parallel(There, [{os, getpid, []}, {dist_fixture, pid_after, [0.1]}, {operator, add, [1, 2]}]),
    %% cast: runs there, and the function tells us.
    Self = self(),
    ok = py:cast(There, dist_fixture, tell, [Self, there]),
    receive {there, RemotePid} -> ok after 10000 -> ct:fail(no_cast_there) end,
    ok = py:cast(Ctx, dist_fixture, tell, [Self], #{tag => ctx}),
    receive {ctx, RemotePid} -> ok after 10000 -> ct:fail(no_cast_ctx) end,
    %% {cluster, Pool}: a member here or there.
    {ok, LocalPid} = py:call(os, getpid, []),
    {ok, Picked} = py:await(py:spawn_call({cluster, default}, os, getpid, [])),
    true = lists:member(Picked, [LocalPid, RemotePid]),
    %% A pool that does not run there.
    {error, {no_pool, nowhere}} = py:await(py:spawn_call({nowhere, Node}, os, getpid, [])),
    %% The node goes down while a spawned call waits there.
    Waiting = py:spawn_call(There, dist_fixture, pid_after, [30]),
    py_test_helper:wait_until(waiting_there, fun() -> N = Pending(), {N =:= 1, N} end, 5000),
    ok = peer:stop(?config(peer, Config)),
    {error, {nodedown, Node}} = py:await(Waiting, 5000),
    {error, {nodedown, Node}} = py:await(py:spawn_call(There, os, getpid, []), 5000).

%% stream and stream_eval work on the peer; stream_start there keeps its
%% window on the peer (the generator waits for acks sent from here), is
%% cancelled from here or by its owner's death, and ends with nodedown
%% when the peer goes away.
streams_on_another_node(Config) ->
    Node = ?config(node, Config),
    There = {default, Node},
    Progress = fun() -> {ok, P} = py:call(There, dist_fixture, progress, []), P end,
    {ok, RemotePid} = py:call(There, os, getpid, []),
    {ok, [RemotePid, RemotePid]} = py:stream(There, dist_fixture, pids, [2]),
    {ok, [0, 1, 4]} = py:stream_eval(There, <<"(x * x for x in range(3))">>),
    %% To the end, with a context of the peer.
    Ctx = erpc:call(Node, py, context, [default]),
    {ok, Ref1} = py:stream_start(Ctx, dist_fixture, pids, [3]),
    Node = node(Ref1),
    [receive {py_stream, Ref1, {data, RemotePid}} -> ok after 10000 -> ct:fail(no_item) end
     || _ <- [1, 2, 3]],
    receive {py_stream, Ref1, done} -> ok after 10000 -> ct:fail(no_done) end,
    %% Windowed: the generator there waits for our acks.
    {ok, Ref} = py:stream_start(There, dist_fixture, pids, [10], #{window => 2}),
    [receive {py_stream, Ref, {data, RemotePid}} -> ok after 10000 -> ct:fail(no_item) end
     || _ <- [1, 2]],
    [2, false] = Progress(),
    ok = py:stream_ack(Ref, 2),
    [receive {py_stream, Ref, {data, RemotePid}} -> ok after 10000 -> ct:fail(no_item) end
     || _ <- [3, 4]],
    [4, false] = Progress(),
    ok = py:stream_cancel(Ref),
    py_test_helper:wait_until(generator_closed_there,
                              fun() -> [N, C] = Progress(), {C, N} end, 5000),
    %% The owner dies: the stream there is cancelled.
    Self = self(),
    Owner = spawn(fun() ->
                          {ok, R} = py:stream_start(There, dist_fixture, pids, [10], #{window => 1}),
                          receive {py_stream, R, {data, _}} -> Self ! first_item end,
                          receive never -> ok end
                  end),
    receive first_item -> ok after 10000 -> ct:fail(no_first_item) end,
    [1, false] = Progress(),
    exit(Owner, kill),
    py_test_helper:wait_until(closed_when_its_owner_died,
                              fun() -> [N, C] = Progress(), {C, N} end, 5000),
    %% On this node, {Pool, node()} is a local pool.
    {ok, Ref2} = py:stream_start({default, node()}, dist_fixture, pids, [1]),
    {ok, LocalPid} = py:call(os, getpid, []),
    receive {py_stream, Ref2, {data, LocalPid}} -> ok after 10000 -> ct:fail(no_item) end,
    receive {py_stream, Ref2, done} -> ok after 10000 -> ct:fail(no_done) end,
    %% The peer goes away in the middle of a windowed stream.
    {ok, Ref3} = py:stream_start(There, dist_fixture, pids, [10], #{window => 1}),
    receive {py_stream, Ref3, {data, RemotePid}} -> ok after 10000 -> ct:fail(no_item) end,
    ok = peer:stop(?config(peer, Config)),
    receive {py_stream, Ref3, {error, {nodedown, Node}}} -> ok
    after 5000 -> ct:fail(no_nodedown)
    end,
    ok = py:stream_cancel(Ref3).

%% Internal.

start_peer(Config) ->
    Name = "pydist_peer_" ++ integer_to_list(free_port()),
    Ebin = filename:dirname(code:which(py)),
    TestDir = filename:dirname(code:which(?MODULE)),
    {ok, Peer, Node} = peer:start(#{name => Name, host => "127.0.0.1", longnames => true,
                                    args => ["-pa", Ebin, "-pa", TestDir,
                                             "-setcookie", atom_to_list(?COOKIE),
                                             "-epmd_module", "py_dist_epmd_helper",
                                             "-kernel", "epmd_module", "py_dist_epmd_helper",
                                             "-connect_all", "false"]}),
    ok = erpc:call(Node, application, load, [erlang_python]),
    ok = erpc:call(Node, application, set_env,
                   [erlang_python, python_path, [?config(data_dir, Config)]]),
    {ok, _} = erpc:call(Node, application, ensure_all_started, [erlang_python]),
    {Peer, Node}.

%% A port free now on the loopback (the node takes it a moment later).
free_port() ->
    {ok, S} = gen_tcp:listen(0, [{ip, {127, 0, 0, 1}}]),
    {ok, Port} = inet:port(S),
    ok = gen_tcp:close(S),
    Port.
