%% @doc Process-bound namespaces, the caller's side: which namespace an eval, exec or '__main__' call of this process uses.
%%
%% `py:eval/exec' run in a namespace (a Python globals dict) owned by the
%% calling Erlang process, one per pool member the process uses:
%% <ol>
%% <li>The first eval/exec of a process in a pool picks the pool's
%%     least-loaded member and pins the process to it (for that pool):
%%     its later evals and execs, and its `py:call('__main__', F, A)',
%%     go to that member. A context names its member itself.</li>
%% <li>The namespace's id is made by the pool's keeper
%%     (`py_pool_keeper'), which monitors the owner and drops the
%%     namespace in the port when the owner exits. The port makes the dict
%%     on first use.</li>
%% <li>This process keeps `{Incarnation, NamespaceId}' per member in its
%%     dictionary. When the member's port has restarted since (another
%%     incarnation), the namespace is gone: the call returns
%%     `{error, {context_lost, Reason}}', once, and the next one makes a
%%     fresh namespace.</li>
%% </ol>
-module(py_namespace).

-include("py_protocol.hrl").

-export([request/4, main_call/4, close/1, body/3]).

-define(PIN_KEY(Pool), {'$py_pin', Pool}).
-define(NS_KEY(Pool, Index), {'$py_namespace', Pool, Index}).

%% @doc Runs request Kind with Body (as for a plain request) in the
%% calling process's namespace in Target (a pool or a context of this node).
-spec request(py_pool:target(), 0..255, term(), timeout() | default) ->
          {ok, term()} | {error, term()}.
request(Target, Kind, Body, Timeout) ->
    case member_port(Target, Timeout) of
        {ok, P} -> in_namespace(P, Kind, Body, Timeout);
        {error, _} = Error -> Error
    end.

%% @doc The body of request Kind with Body run in namespace NsId (the
%% protocol's eval, exec and call bodies with the namespace id added).
-spec body(0..255, term(), pos_integer()) -> tuple().
body(?PY_EVAL, {Source, Locals}, NsId) -> {Source, Locals, NsId};
body(?PY_EXEC, Source, NsId) -> {Source, NsId};
body(?PY_CALL, {M, F, A, Kw}, NsId) -> {M, F, A, Kw, NsId}.

%% @doc A `py:call('__main__', ...)' body (without its namespace) to
%% Target: in the caller's namespace when it has one there, else a plain
%% call (functions of `__main__' itself).
-spec main_call(py_pool:target(), tuple(), timeout() | default, boolean()) ->
          {ok, term()} | {error, term()}.
main_call(Target, {M, F, A, Kw}, Timeout, Explicit) ->
    case known_member(Target) of
        {Pool, Index} ->
            case get(?NS_KEY(Pool, Index)) of
                {_Inc, _NsId} ->
                    request(Target, ?PY_CALL, {M, F, A, Kw}, Timeout);
                undefined ->
                    plain(Target, {M, F, A, Kw}, Timeout, Explicit)
            end;
        none ->
            plain(Target, {M, F, A, Kw}, Timeout, Explicit)
    end.

%% @doc Drops the calling process's namespaces in Target (a pool: every
%% member's; a context: its member's). Its next eval/exec starts afresh.
-spec close(py_pool:target()) -> ok.
close(#py_context{pool = Pool, index = Index}) ->
    close_one(Pool, Index);
close(Pool) when is_atom(Pool) ->
    [close_one(Pool, I) || {?NS_KEY(P, I), _} <- get(), P =:= Pool],
    erase(?PIN_KEY(Pool)),
    ok.

%% Internal.

plain(Target, Body, Timeout, true) -> py_call:request_to(Target, ?PY_CALL, Body, Timeout);
plain(_Target, Body, Timeout, false) -> py_call:request(?PY_CALL, Body, Timeout).

close_one(Pool, Index) ->
    case erase(?NS_KEY(Pool, Index)) of
        {_Inc, _NsId} -> _ = py_pool_keeper:close_namespace(Pool, self(), Index), ok;
        undefined -> ok
    end.

%% The member a namespace request goes to: the context's, the one this
%% process is pinned to in the pool, or (first use) the least-loaded one,
%% pinned from then on. A handler process uses its own member for the
%% default pool and its own pool.
member_port(Target, Timeout) ->
    case known_member(Target) of
        {Pool, Index} ->
            py_call:target_port(#py_context{node = node(), pool = Pool, index = Index},
                                wait(Timeout));
        none ->
            case py_call:target_port(Target, wait(Timeout)) of
                {ok, P = #py_port{pool = Pool, index = Index}} ->
                    put(?PIN_KEY(Pool), Index),
                    {ok, P};
                Error ->
                    Error
            end
    end.

known_member(#py_context{pool = Pool, index = Index}) ->
    {Pool, Index};
known_member(Target) ->
    case {Target, get(?PY_HANDLER_KEY)} of
        {default, {#py_port{pool = Own, index = Index}, _, _}} ->
            {Own, Index};
        {Own, {#py_port{pool = Own, index = Index}, _, _}} ->
            {Own, Index};
        _ ->
            case get(?PIN_KEY(Target)) of
                undefined -> none;
                Pinned -> {Target, Pinned}
            end
    end.

in_namespace(P = #py_port{pool = Pool, index = Index, incarnation = Inc}, Kind, Body, Timeout) ->
    case get(?NS_KEY(Pool, Index)) of
        {Inc, NsId} ->
            py_call:request_on(P, Kind, body(Kind, Body, NsId), Timeout);
        {OldInc, _NsId} ->
            %% The member restarted: the namespace died with its port. Said
            %% once; a port of an earlier start of the pool is no news.
            erase(?NS_KEY(Pool, Index)),
            case py_pool_keeper:lost_reason(Pool, Index, OldInc) of
                {lost, Reason} -> {error, {context_lost, Reason}};
                unknown -> in_namespace(P, Kind, Body, Timeout)
            end;
        undefined ->
            case py_pool_keeper:register_namespace(Pool, Index, Inc) of
                {ok, NsId} ->
                    put(?NS_KEY(Pool, Index), {Inc, NsId}),
                    py_call:request_on(P, Kind, body(Kind, Body, NsId), Timeout);
                {error, _} = Error ->
                    Error
            end
    end.

wait(default) -> py_call:default_timeout();
wait(Timeout) -> Timeout.
