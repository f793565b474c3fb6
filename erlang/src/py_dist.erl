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
-module(py_dist).

-export([scope/0, join/1, pick/1, members/1, request/5]).

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

%% @doc Runs request Kind on Node's Target (a pool there, or a context of
%% that node) and waits up to Timeout ms (plus a margin for the answer to
%% travel).
-spec request(node(), term(), 0..255, term(), timeout()) -> {ok, term()} | {error, term()}.
request(Node, Target, Kind, Term, Timeout) ->
    ErpcTimeout = case Timeout of infinity -> infinity; _ -> Timeout + ?MARGIN end,
    try erpc:call(Node, py_call, request_to, [Target, Kind, Term, Timeout], ErpcTimeout)
    catch
        error:{erpc, noconnection} -> {error, {nodedown, Node}};
        error:{erpc, timeout} -> {error, timeout};
        error:{exception, undef, _} -> {error, {not_running, Node}};
        error:{exception, Reason, _} -> {error, {remote_exception, Node, Reason}};
        exit:{exception, Reason} -> {error, {remote_exception, Node, Reason}}
    end.
