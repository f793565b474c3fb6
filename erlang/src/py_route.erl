%% @doc Where a request from the `py' API goes: the pool `register_pool/2'
%% routes a module to (the default pool unless one is registered), a pool,
%% a context or another node; `eval'/`exec' and `'__main__'' calls in the
%% calling process's namespace (`py_namespace'). `py' checks the arguments
%% and builds the request term; this module only picks the destination.
-module(py_route).

-include("py_protocol.hrl").

-export([call/2, call_on/3, eval/4, exec/3]).

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
call_on(Target0, Term = {Module, _, _, _}, Timeout) ->
    case local_target(Target0) of
        {local, Target} when Module =:= <<"__main__">> ->
            py_namespace:main_call(Target, Term, Timeout, true);
        {local, Target} ->
            py_call:request_to(Target, ?PY_CALL, Term, Timeout);
        remote ->
            py_call:request_to(Target0, ?PY_CALL, Term, Timeout)
    end.

%% A target on this node, as the pool name or context namespaces are kept
%% under; eval/exec on another node run there in a process of their own,
%% so in a namespace that lives for that one request.
local_target({Pool, Node}) when Pool =/= cluster, Node =:= node() -> {local, Pool};
local_target({cluster, _}) -> remote;
local_target({_Pool, _Node}) -> remote;
local_target(#py_context{node = Node}) when Node =/= node() -> remote;
local_target(Target) -> {local, Target}.

%% @doc An expression (Source, a binary) with Locals on Target.
-spec eval(py:target(), binary(), map(), timeout() | default) -> {ok, term()} | {error, term()}.
eval(Target0, Source, Locals, Timeout) when is_map(Locals) ->
    case local_target(Target0) of
        {local, Target} ->
            py_namespace:request(Target, ?PY_EVAL, fun(Ns) -> {Source, Locals, Ns} end, Timeout);
        remote ->
            py_call:request_to(Target0, ?PY_EVAL, {Source, Locals}, Timeout)
    end.

%% @doc Statements (Source, a binary) on Target; `ok' or the error.
-spec exec(py:target(), binary(), timeout() | default) -> ok | {error, term()}.
exec(Target0, Source, Timeout) ->
    Result = case local_target(Target0) of
                 {local, Target} ->
                     py_namespace:request(Target, ?PY_EXEC, fun(Ns) -> {Source, Ns} end, Timeout);
                 remote ->
                     py_call:request_to(Target0, ?PY_EXEC, Source, Timeout)
             end,
    case Result of
        {ok, _} -> ok;
        Error -> Error
    end.
