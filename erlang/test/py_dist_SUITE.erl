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
         killing_the_peer_answers_pending_callers_with_nodedown/1]).

-define(COOKIE, erlang_python_ct).

all() ->
    [a_call_to_a_pool_on_another_node_returns_its_value,
     a_python_thread_there_calls_a_function_registered_there,
     cluster_routing_picks_members_on_every_node,
     killing_the_peer_answers_pending_callers_with_nodedown].

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
