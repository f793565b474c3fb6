%% @doc Process-bound namespaces of callers on other nodes: the side of the node that holds them.
%%
%% `py:eval/exec' sent to this node (`{Pool, Node}', a context of this
%% node, or `{cluster, Pool}' when it picked this node) run here in a
%% process that `erpc' starts for the one request, on behalf of the calling
%% process on its own node, the Owner. The namespace belongs to the Owner,
%% as on its own node:
%% <ol>
%% <li>The Owner's first eval/exec in a pool here picks the pool's
%%     least-loaded member and pins the Owner to it (a context names its
%%     member). The pool's keeper (`py_pool_keeper') keeps the pin and the
%%     namespace id, since the Owner's process dictionary is on its own
%%     node.</li>
%% <li>The keeper monitors the Owner across the nodes: when it exits, or
%%     its node is cut off, its namespaces here are dropped.
%%     `py:close_namespace({Pool, Node})' drops them at once.</li>
%% <li>A `py:call(Target, '__main__', F, Args)' from the Owner runs in its
%%     namespace when it has one here, else in `__main__'.</li>
%% <li>A member that died took the Owner's namespace with it: the next use
%%     gets `{error, {context_lost, Reason}}', once.</li>
%% </ol>
-module(py_dist_namespace).

-include("py_protocol.hrl").

-export([request/5, close/2]).

%% @doc Runs request Kind with Body (as for a plain request, without a
%% namespace) for Owner in its namespace in Target (a pool or a context of
%% this node). eval and exec make the namespace on first use; a call (of
%% `'__main__'') uses it if it is there.
-spec request(pid(), py_pool:target(), 0..255, term(), timeout() | default) ->
          {ok, term()} | {error, term()}.
request(Owner, Target, Kind, Body, Timeout) ->
    Create = Kind =/= ?PY_CALL,
    case member(Owner, Target, Create, wait(Timeout)) of
        {ok, P, Pin} -> in_namespace(Owner, P, Pin, Kind, Body, Create, Timeout);
        plain -> py_call:request_to(Target, Kind, Body, Timeout);
        {error, _} = Error -> Error
    end.

%% @doc Drops Owner's namespaces in Target: a context's member's, or every
%% member's of a pool (and its pin there).
-spec close(pid(), py_pool:target()) -> ok.
close(Owner, #py_context{pool = Pool, index = Index}) ->
    _ = py_pool_keeper:close_namespace(Pool, Owner, Index),
    ok;
close(Owner, Pool) when is_atom(Pool) ->
    _ = py_pool_keeper:close_all(Pool, Owner),
    ok.

%% Internal.

%% The member: the context's, the one Owner is pinned to, or (first use of
%% an eval/exec) the least-loaded one, to be pinned.
member(_Owner, Context = #py_context{}, _Create, Wait) ->
    with_port(py_pool:port(Context, Wait), false);
member(Owner, Pool, Create, Wait) when is_atom(Pool) ->
    case py_pool_keeper:pinned(Pool, Owner) of
        {ok, Index} ->
            with_port(py_pool:port(#py_context{node = node(), pool = Pool, index = Index}, Wait),
                      false);
        none when Create ->
            with_port(py_pool:port(Pool, Wait), true);
        none ->
            plain;
        {error, _} = Error ->
            Error
    end.

with_port({ok, P}, Pin) -> {ok, P, Pin};
with_port({error, _} = Error, _Pin) -> Error.

in_namespace(Owner, P = #py_port{pool = Pool, index = Index, incarnation = Inc}, Pin, Kind, Body,
             Create, Timeout) ->
    case py_pool_keeper:remote_namespace(Pool, Owner, Index, Inc, Create, Pin) of
        {ok, NsId} -> py_call:request_on(P, Kind, py_namespace:body(Kind, Body, NsId), Timeout);
        none -> py_call:request_on(P, Kind, Body, Timeout);
        {lost, Reason} -> {error, {context_lost, Reason}};
        {error, _} = Error -> Error
    end.

wait(default) -> py_call:default_timeout();
wait(Timeout) -> Timeout.
