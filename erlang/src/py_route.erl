%% @doc Where a request from the `py' API goes: the pool `register_pool/2'
%% routes a module to (the default pool unless one is registered), a pool,
%% a context or another node; `eval'/`exec' and `'__main__'' calls in the
%% calling process's namespace (`py_namespace'). `py' checks the arguments
%% and builds the request term; this module only picks the destination,
%% for every call-shaped API: call, eval, exec, cast, spawn_call, parallel
%% and streams. Target `none' means the caller named no target: the route
%% of the call's module or function, else the default pool.
-module(py_route).

-include("py_protocol.hrl").

-export([call/2, call_on/3, eval/4, exec/3, close_namespace/1]).
-export([cast/3, spawn_call/3, parallel/3, stream_start/4]).

%% @doc A call `{Module, Function, Args, Kwargs}' with no pool named.
-spec call({binary(), binary(), list(), map()}, timeout() | default) ->
          {ok, term()} | {error, term()}.
call(Term = {Module, Function, _, _}, Timeout) ->
    case py_pool:lookup_pool(Module, Function) of
        default when Module =:= <<"__main__">> ->
            py_namespace:main_call(default, Term, Timeout, false);
        default ->
            py_call:request(?PY_CALL, Term, Timeout);
        Pool ->
            call_on(Pool, Term, Timeout)
    end.

%% @doc A call on Target: a pool, a context, `{Pool, Node}' or `{cluster, Pool}'.
-spec call_on(py:target(), {binary(), binary(), list(), map()}, timeout() | default) ->
          {ok, term()} | {error, term()}.
call_on(Target, Term = {<<"__main__">>, _, _, _}, Timeout) ->
    on(Target,
       fun(Local) -> py_namespace:main_call(Local, Term, Timeout, true) end,
       fun(Node, Remote) -> py_dist:request_in_namespace(Node, Remote, ?PY_CALL, Term, Timeout) end);
call_on(Target, Term, Timeout) ->
    py_call:request_to(Target, ?PY_CALL, Term, Timeout).

%% @doc `py:cast': Term runs on Target (or its route) in a process of its own.
-spec cast(py:target() | none, {binary(), binary(), list(), map()}, timeout() | default) -> ok.
cast(none, Term = {Module, Function, _, _}, Timeout) ->
    py_async:cast(py_pool:lookup_pool(Module, Function), Term, Timeout);
cast(Target, Term, Timeout) ->
    py_async:cast(Target, Term, Timeout).

%% @doc `py:spawn_call': posts Term to Target (or its route); a handle for
%% `py_async:await/2'. On this node the call goes to the least-loaded
%% member now (a context: its member); on another node a process there
%% posts it.
-spec spawn_call(py:target() | none, {binary(), binary(), list(), map()}, timeout() | default) ->
          reference().
spawn_call(none, Term = {Module, Function, _, _}, Timeout) ->
    spawn_call(py_pool:lookup_pool(Module, Function), Term, Timeout);
spawn_call(Target, Term, Timeout) ->
    case on(Target,
            fun(Local) -> py_async:spawn_call(Local, Term, Timeout) end,
            fun(Node, Remote) -> py_async:spawn_remote(Node, Remote, Term, Timeout) end) of
        {error, _} = Error -> py_async:spawn_call(Error, Term, Timeout);  % await tells it
        Handle -> Handle
    end.

%% @doc `py:parallel': every call spawned at once, each routed on its own
%% (so a pool's members share them: each goes to the member with the
%% fewest pending requests at that moment), then gathered.
-spec parallel(py:target() | none, [{binary(), binary(), list(), map()}], timeout() | default) ->
          {ok, [term()]} | {error, term()}.
parallel(Target, Terms, Timeout) ->
    py_async:gather([spawn_call(Target, Term, default) || Term <- Terms], Timeout).

%% @doc `py:stream_start': the stream runs on one member, which keeps it
%% for its whole life (its credit and cancel are the member's request's);
%% on another node that node's stream server keeps it, and a relay here
%% (`py_stream_relay') forwards its items to the owner.
-spec stream_start(py:target() | none, {binary(), list()}, pid(), pos_integer() | infinity) ->
          {ok, reference()} | {error, term()}.
stream_start(none, Source = {<<"call">>, [Module, Function | _]}, Owner, Window) ->
    stream_start(py_pool:lookup_pool(Module, Function), Source, Owner, Window);
stream_start(Target, Source, Owner, Window) ->
    on(Target,
       fun(Local) -> py_stream:start(Local, Source, Owner, Window) end,
       fun(Node, Remote) -> py_stream_relay:start(Node, Remote, Source, Owner, Window) end).

%% @doc An expression (Source, a binary) with Locals on Target, in the
%% calling process's namespace there (on another node too).
-spec eval(py:target(), binary(), map(), timeout() | default) -> {ok, term()} | {error, term()}.
eval(Target, Source, Locals, Timeout) when is_map(Locals) ->
    in_namespace(Target, ?PY_EVAL, {Source, Locals}, Timeout).

%% @doc Statements (Source, a binary) on Target, in the calling process's
%% namespace there; `ok' or the error.
-spec exec(py:target(), binary(), timeout() | default) -> ok | {error, term()}.
exec(Target, Source, Timeout) ->
    case in_namespace(Target, ?PY_EXEC, Source, Timeout) of
        {ok, _} -> ok;
        Error -> Error
    end.

%% @doc Drops the calling process's namespaces in Target (a pool: every
%% member's; a context: its member's), on this node or another.
-spec close_namespace(py:target()) -> ok | {error, term()}.
close_namespace(Target) ->
    on(Target, fun py_namespace:close/1, fun py_dist:close_namespace/2).

%% Internal.

%% Eval and exec on this node keep the namespace's id in the caller's
%% process dictionary (py_namespace); on another node that node's keeper
%% keeps it for the caller (py_dist_namespace).
in_namespace(Target, Kind, Body, Timeout) ->
    on(Target,
       fun(Local) -> py_namespace:request(Local, Kind, Body, Timeout) end,
       fun(Node, Remote) -> py_dist:request_in_namespace(Node, Remote, Kind, Body, Timeout) end).

%% The one decision between this node and another: Local(LocalTarget) for
%% a pool or context of this node (`{Pool, node()}' is the pool, and
%% `{cluster, Pool}' may pick this node), Remote(Node, RemoteTarget) for
%% another, or why neither (`{error, {no_pool, Pool}}' from the cluster).
on(Target, Local, Remote) ->
    case py_dist:where(Target) of
        local -> Local(Target);
        {local, Pool} -> Local(Pool);
        {error, _} = Error -> Error;
        {Node, RemoteTarget} -> Remote(Node, RemoteTarget)
    end.
