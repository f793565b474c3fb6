%% @doc Pools on other nodes: the `pg' groups members join, picking a member in the cluster, and requests over distribution.
%%
%% Every member (coordinator) joins the group `{pool, Pool}' of the `pg'
%% scope `erlang_python', which the application starts. `pg' drops the
%% members of a node that goes down, so cluster-wide routing stops picking
%% it at once. A request to another node is an `erpc:call' of
%% `py_call:request_to/4' there: it runs in a process on that node, so the
%% Python code's `erlang.call' callbacks are served by that node's
%% handlers and registry. erpc monitors the node: when it goes down the
%% caller gets `{error, {nodedown, Node}}' as soon as the connection is
%% known to be lost. No transport of our own: distribution, pg and monitors.
%%
%% A request whose caller does not wait at once (`py:spawn_call',
%% `py:parallel') is served on the other node by a process of its own
%% (`serve/6'), spawned there with a monitor: it posts the request, and
%% sends the answer to an alias of the caller. The caller's monitor of it
%% turns a lost node into `{error, {nodedown, Node}}'; its monitor of the
%% caller, and `cancel_remote/1', interrupt the Python work as a local
%% cancel does.
-module(py_dist).

-include("py_protocol.hrl").

-export([scope/0, join/1, pick/1, members/1, where/1, request/5, request_in_namespace/5,
         close_namespace/2, erpc_call/5]).
-export([spawn_request/5, await_remote/2, cancel_remote/1, serve/6]).

%% A request served on another node: the alias its answer comes to, the
%% serving process and the caller's monitor of it.
-type remote() :: {remote, node(), reference(), pid(), reference()}.
-export_type([remote/0]).

-define(SCOPE, erlang_python).

%% Extra time the erpc call gets over the request's own timeout, so that
%% the remote side's `{error, timeout}' comes back instead of erpc's.
-define(MARGIN, 1000).

%% @doc The pg scope the application starts.
-spec scope() -> atom().
scope() ->
    ?SCOPE.

%% @doc Joins the calling process (a coordinator) to Pool's group.
-spec join(atom()) -> ok.
join(Pool) ->
    pg:join(?SCOPE, {pool, Pool}, self()).

%% @doc The members of Pool in the cluster (coordinator pids).
-spec members(atom()) -> [pid()].
members(Pool) ->
    try pg:get_members(?SCOPE, {pool, Pool})
    catch error:badarg -> []   % the scope is not running
    end.

%% @doc Any member of Pool in the cluster, at random: `{local, Pool}' when
%% it is on this node (the request then goes to this node's least-loaded
%% member), `{Node, Pool}' when on another node.
-spec pick(atom()) -> {local, atom()} | {node(), atom()} | {error, {no_pool, atom()}}.
pick(Pool) ->
    case members(Pool) of
        [] ->
            {error, {no_pool, Pool}};
        Members ->
            Pid = lists:nth(rand:uniform(length(Members)), Members),
            case node(Pid) of
                Here when Here =:= node() -> {local, Pool};
                Node -> {Node, Pool}
            end
    end.

%% @doc Where a request to Target goes: `local' (a pool or context of this
%% node), `{local, Pool}' (`{cluster, Pool}' picked this node), or
%% `{Node, RemoteTarget}' (what to ask for on that node).
-spec where(term()) -> local | {local, atom()} | {node(), term()} | {error, {no_pool, atom()}}.
where(#py_context{node = Node} = Context) when Node =/= node() -> {Node, Context};
where({cluster, Pool}) when is_atom(Pool) -> pick(Pool);
where({Pool, Node}) when is_atom(Pool), is_atom(Node), Node =/= node() -> {Node, Pool};
where({Pool, Node}) when is_atom(Pool), Node =:= node() -> {local, Pool};
where(_) -> local.

%% @doc Runs request Kind on Node's Target (a pool there, or a context of
%% that node) and waits up to Timeout ms (plus a margin for the answer to
%% travel).
-spec request(node(), term(), 0..255, term(), timeout()) -> {ok, term()} | {error, term()}.
request(Node, Target, Kind, Term, Timeout) ->
    erpc_call(Node, py_call, request_to, [Target, Kind, Term, Timeout], Timeout).

%% @doc request/5 in the calling process's namespace on Node
%% (`py_dist_namespace'): eval and exec, and calls of `'__main__''.
-spec request_in_namespace(node(), term(), 0..255, term(), timeout() | default) ->
          {ok, term()} | {error, term()}.
request_in_namespace(Node, Target, Kind, Body, Timeout0) ->
    Timeout = case Timeout0 of default -> py_call:default_timeout(); _ -> Timeout0 end,
    erpc_call(Node, py_dist_namespace, request, [self(), Target, Kind, Body, Timeout], Timeout).

%% @doc Drops the calling process's namespaces in Target of Node.
-spec close_namespace(node(), term()) -> ok | {error, term()}.
close_namespace(Node, Target) ->
    case erpc_call(Node, py_dist_namespace, close, [self(), Target], py_call:default_timeout()) of
        ok -> ok;
        {error, _} = Error -> Error
    end.

%% @doc Runs M:F(A) on Node, which answers within Timeout ms (plus a
%% margin for the answer to travel): erpc's errors as ours.
-spec erpc_call(node(), module(), atom(), list(), timeout()) -> term().
erpc_call(Node, M, F, A, Timeout) ->
    ErpcTimeout = case Timeout of infinity -> infinity; _ -> Timeout + ?MARGIN end,
    try erpc:call(Node, M, F, A, ErpcTimeout)
    catch
        error:{erpc, noconnection} -> {error, {nodedown, Node}};
        error:{erpc, timeout} -> {error, timeout};
        error:{exception, undef, _} -> {error, {not_running, Node}};
        error:{exception, Reason, _} -> {error, {remote_exception, Node, Reason}};
        exit:{exception, Reason} -> {error, {remote_exception, Node, Reason}}
    end.

%% @doc Starts request Kind on Node's Target without waiting: a process
%% there posts it and sends the answer here. `await_remote/2' gets it.
-spec spawn_request(node(), term(), 0..255, term(), timeout() | default) -> remote().
spawn_request(Node, Target, Kind, Term, Timeout) ->
    Alias = alias(),
    {Pid, Mon} = spawn_opt(Node, ?MODULE, serve, [self(), Alias, Target, Kind, Term, Timeout],
                           [monitor]),
    {remote, Node, Alias, Pid, Mon}.

%% @doc The answer of a request started with `spawn_request/5', waiting up
%% to Timeout ms: `timeout' leaves it running (wait again or cancel it).
-spec await_remote(remote(), timeout()) -> {ok, term()} | {error, term()} | timeout.
await_remote({remote, Node, Alias, _Pid, Mon}, Timeout) ->
    receive
        {Alias, Result} ->
            unalias(Alias),
            demonitor(Mon, [flush]),
            Result;
        {'DOWN', Mon, process, _, Reason} ->
            unalias(Alias),
            down_error(Node, Reason)
    after Timeout ->
        timeout
    end.

%% @doc Interrupts a request started with `spawn_request/5' and drops its
%% answer, whether it comes later or is here already.
-spec cancel_remote(remote()) -> ok.
cancel_remote({remote, _Node, Alias, Pid, Mon}) ->
    unalias(Alias),
    demonitor(Mon, [flush]),
    Pid ! {Alias, cancel},
    receive {Alias, _} -> ok after 0 -> ok end.

%% @private On the node that runs the Python: posts the request, waits for
%% its answer (or the caller's death, or a cancel) and sends it back.
-spec serve(pid(), reference(), term(), 0..255, term(), timeout() | default) -> ok.
serve(Caller, Alias, Target, Kind, Term, Timeout) ->
    Mon = monitor(process, Caller),
    Result = case py_call:post_to(Target, Kind, Term, Timeout) of
                 {posted, Ref, Pending, _} -> py_call:await_unless(Ref, Pending, Alias, Mon);
                 {error, _} = Error -> Error
             end,
    Alias ! {Alias, Result},
    ok.

%% Internal.

down_error(Node, noconnection) -> {error, {nodedown, Node}};
down_error(Node, {undef, _}) -> {error, {not_running, Node}};
down_error(Node, Reason) -> {error, {remote_exception, Node, Reason}}.
