%% @doc Call Python from Erlang, and let Python call Erlang back.
%%
%% Every function returns `{ok, Value}' or `{error, Reason}' (`exec' returns
%% `ok'). Reasons:
%% <ul>
%% <li>`{Class, Message}': Python raised. Class is an atom for built-in
%%     exceptions (`'ZeroDivisionError'', `'ModuleNotFoundError'', ...), a
%%     binary for any other class; Message is `str(exception)' as UTF-8.
%%     `last_traceback/0' returns the formatted traceback.</li>
%% <li>`timeout': no answer within the timeout; a late answer is dropped.</li>
%% <li>`{port_exit, {status, N} | {signal, N}}': the Python process died.
%%     `{port_exit, epipe}' when a write to the dying process failed before
%%     its exit status was known (the port is closed then, and the status
%%     lost).</li>
%% <li>`not_started': the application is not running.</li>
%% <li>`overloaded': more requests are pending than `max_pending' allows.</li>
%% <li>`{frame_too_large, Size, Max}': the request is over `max_frame_size'.</li>
%% <li>`{bad_term, {unknown_atom, Name}}': the reply held an atom that does
%%     not exist in this node (Name is a binary); `{bad_term, malformed}'
%%     should not happen.</li>
%% </ul>
-module(py).

-include("py_protocol.hrl").

-export([call/3, call/4, call/5, call/6,
         eval/1, eval/2, eval/3, eval/4,
         exec/1, exec/2, exec/3,
         context/0, context/1, close_namespace/0, close_namespace/1,
         start_pool/2, stop_pool/1, register_pool/2, unregister_pool/1,
         register_function/2, register_function/3, unregister_function/1,
         stats/0, last_traceback/0]).

-export([sync_log_level/0]).

-export([state_store/2, state_fetch/1, state_remove/1, state_keys/0, state_clear/0,
         state_incr/1, state_incr/2, state_decr/1, state_decr/2,
         version/0, memory_stats/0, gc/0, gc/1, reload/1]).

-export([stream/3, stream/4, stream/5, stream_eval/1, stream_eval/2, stream_eval/3,
         stream_start/3, stream_start/4, stream_start/5, stream_ack/1, stream_ack/2, stream_cancel/1]).

-export([call_method/3, call_method/4, getattr/2, to_term/1, is_ref/1, release/1]).

-export([cast/3, cast/4, cast/5, cast/6,
         spawn_call/3, spawn_call/4, spawn_call/5, spawn_call/6, await/1, await/2, cancel/1,
         parallel/1, parallel/2,
         async_call/3, async_call/4, async_await/1, async_await/2,
         async_gather/1, async_gather/2]).

-export_type([name/0, code/0, error_reason/0, target/0, context/0, call_options/0]).

-type name() :: atom() | binary() | string().
-type code() :: binary() | string().
-type error_reason() :: {atom() | binary(), binary()} | timeout | not_started
                      | {port_exit, {status | signal, integer()} | epipe}
                      | {frame_too_large, pos_integer(), pos_integer()}
                      | {bad_term, {unknown_atom, binary()} | malformed} | port_closed | overloaded
                      | stale_ref | {foreign_ref, node()}
                      | {context_lost, term()} | {no_pool, atom()} | {nodedown, node()}.
%% Where a request goes: a pool by name, a context (one member), a pool on
%% another node, or any member of a pool in the cluster.
-type target() :: atom() | context() | {atom(), node()} | {cluster, atom()}.
%% A context: `{py_context, Node, Pool, Index}', member Index of Pool on Node.
-type context() :: #py_context{}.
-type call_options() :: #{kwargs => map(), timeout => timeout(), return => value | ref}.

%% Arguments are checked before anything is sent, so a bad one is an error
%% in the caller (function_clause or badarg) and Python runs nothing.
-define(is_timeout(T), (T =:= infinity orelse (is_integer(T) andalso T >= 0))).
%% A pool name, a context, {Pool, Node} or {cluster, Pool}.
-define(is_target(T), (is_atom(T) orelse is_record(T, py_context)
                       orelse (is_tuple(T) andalso tuple_size(T) =:= 2
                               andalso is_atom(element(1, T)) andalso is_atom(element(2, T))))).
%% The function name of the pool forms of call/4,5 (an atom or a binary, so
%% that it is never taken for an argument list).
-define(is_function_name(F), (is_atom(F) orelse is_binary(F))).

%% API.

%% @doc Calls `Module.Function(*Args)' with the default timeout.
%% Module may be dotted: ``py:call('os.path', join, [<<"a">>, <<"b">>])''.
-spec call(name(), name(), list()) -> {ok, term()} | {error, error_reason()}.
call(Module, Function, Args) ->
    call(Module, Function, Args, #{}).

%% @doc Two forms, told apart as erlang_python tells them:
%% `call(Module, Function, Args, Kwargs)' calls
%% `Module.Function(*Args, **Kwargs)' (Kwargs keys are atoms or binaries);
%% `call(Target, Module, Function, Args)', with Function an atom or a
%% binary and Args a list, calls `Module.Function(*Args)' on Target (a
%% pool, a context, `{Pool, Node}' or `{cluster, Pool}').
-spec call(name(), name(), list(), map()) -> {ok, term()} | {error, error_reason()}
        ; (target(), name(), atom() | binary(), list()) -> {ok, term()} | {error, error_reason()}.
call(Target, Module, Function, Args)
  when ?is_target(Target), ?is_function_name(Function), is_list(Args) ->
    py_route:call_on(Target, call_term(Module, Function, Args, #{}), default);
call(Module, Function, Args, Kwargs) when is_list(Args), is_map(Kwargs) ->
    py_route:call(call_term(Module, Function, Args, Kwargs), default).

%% @doc Three forms, told apart as erlang_python tells them:
%% `call(Module, Function, Args, Kwargs, Timeout)' is `call/4' with a
%% timeout in milliseconds (or `infinity'); `call(Target, Module, Function,
%% Args, Kwargs)' is the pool form of `call/4' with keyword arguments; and
%% `call(Ctx, Module, Function, Args, Opts)' with Ctx a context
%% (`context/0,1') takes options: `kwargs', `timeout' and `return':
%% `value' (the default) or `ref', which keeps the result in Python and
%% returns a handle to it (`{ok, Handle}'), owned by the calling process
%% (docs/guide/handles.md).
-spec call(name(), name(), list(), map(), timeout()) -> {ok, term()} | {error, error_reason()}
        ; (context(), name(), name(), list(), call_options()) ->
          {ok, term()} | {error, error_reason()}
        ; (target(), name(), atom() | binary(), list(), map()) ->
          {ok, term()} | {error, error_reason()}.
call(Ctx, Module, Function, Args, Opts) when is_record(Ctx, py_context), is_list(Args), is_map(Opts) ->
    Kwargs = maps:get(kwargs, Opts, #{}),
    Timeout = maps:get(timeout, Opts, default),
    Return = maps:get(return, Opts, value),
    true = is_map(Kwargs) andalso (Timeout =:= default orelse ?is_timeout(Timeout))
        andalso (Return =:= value orelse Return =:= ref)
        orelse error(badarg, [Ctx, Module, Function, Args, Opts]),
    Term = call_term(Module, Function, Args, Kwargs),
    case Return of
        value ->
            py_route:call_on(Ctx, Term, Timeout);
        ref ->
            case py_refs:resolve_target(Ctx) of
                {ok, Target} -> py_refs:make(Target, Term, Timeout);
                {error, _} = Error -> Error
            end
    end;
call(Target, Module, Function, Args, Kwargs)
  when ?is_target(Target), ?is_function_name(Function), is_list(Args), is_map(Kwargs) ->
    py_route:call_on(Target, call_term(Module, Function, Args, Kwargs), default);
call(Module, Function, Args, Kwargs, Timeout)
  when is_list(Args), is_map(Kwargs), ?is_timeout(Timeout) ->
    py_route:call(call_term(Module, Function, Args, Kwargs), Timeout).

%% @doc The pool form of `call/5' with a timeout.
-spec call(target(), name(), name(), list(), map(), timeout()) ->
          {ok, term()} | {error, error_reason()}.
call(Target, Module, Function, Args, Kwargs, Timeout)
  when ?is_target(Target), is_list(Args), is_map(Kwargs), ?is_timeout(Timeout) ->
    py_route:call_on(Target, call_term(Module, Function, Args, Kwargs), Timeout).

%% @doc A context of the default pool (`context(default)').
-spec context() -> context().
context() ->
    context(default).

%% @doc A handle bound to one member (one Python process) of a pool, for
%% state that must stay in one process: `context(Pool)' picks the pool's
%% least-loaded member now; `context(N)' is member N of the default pool
%% (as erlang_python's `py:context(N)'); `context({Pool, N})' member N of
%% Pool. `py:call/eval/exec' take it in place of a pool. It is the tuple
%% `{py_context, Node, Pool, Index}': any process (on any connected node)
%% can use it.
-spec context(atom() | pos_integer() | {atom(), pos_integer()}) -> context().
context(N) when is_integer(N), N > 0 ->
    py_pool:context({default, N});
context({Pool, N}) when is_atom(Pool), is_integer(N), N > 0 ->
    py_pool:context({Pool, N});
context(Pool) when is_atom(Pool) ->
    py_pool:context(Pool).

%% @doc Drops the calling process's namespaces in the default pool now,
%% rather than when the process exits; its next `eval'/`exec' starts with
%% an empty one.
-spec close_namespace() -> ok.
close_namespace() ->
    py_namespace:close(default).

%% @doc Drops the calling process's namespaces in a target: every member's
%% of a pool, a context's member's, or those on another node
%% (`{Pool, Node}', a context of that node).
-spec close_namespace(target()) -> ok | {error, error_reason()}.
close_namespace(Target) when ?is_target(Target) ->
    py_route:close_namespace(Target).

%% @doc Starts a pool of Python processes at run time; Opts as in the
%% `pools' setting (README). `{ok, Pid}' once every member runs.
-spec start_pool(atom(), map() | [{atom(), term()}]) -> {ok, pid()} | {error, term()}.
start_pool(Name, Opts) ->
    py_pool:start_pool(Name, Opts).

%% @doc Stops a pool (not `default'): calls in flight get `stop_grace' ms.
-spec stop_pool(atom()) -> ok | {error, term()}.
stop_pool(Name) ->
    py_pool:stop_pool(Name).

%% @doc Routes every `py:call' of Module (all its functions), or of
%% `{Module, Function}' only, to Pool; a function's route wins over its
%% module's.
-spec register_pool(atom(), name() | {name(), name()}) -> ok.
register_pool(Pool, What) when is_atom(Pool) ->
    py_pool:register_pool(Pool, What).

%% @doc Removes a route made by `register_pool/2'.
-spec unregister_pool(name() | {name(), name()}) -> ok.
unregister_pool(What) ->
    py_pool:unregister_pool(What).

%% @doc Calls `Module.Function(*Args)' without waiting: returns `ok' at
%% once. A Python exception is logged (OTP logger, level error, domain
%% `[erlang_python]') with its traceback.
-spec cast(name(), name(), list()) -> ok.
cast(Module, Function, Args) ->
    cast(Module, Function, Args, #{}).

%% @doc `cast(Module, Function, Args, Kwargs)': `cast/3' with keyword
%% arguments; `cast(Target, Module, Function, Args)': on Target (any
%% target of `call/4'; Function an atom or a binary), told apart as
%% `call/4' does.
-spec cast(name(), name(), list(), map()) -> ok
        ; (target(), name(), atom() | binary(), list()) -> ok.
cast(Target, Module, Function, Args)
  when ?is_target(Target), ?is_function_name(Function), is_list(Args) ->
    py_route:cast(Target, call_term(Module, Function, Args, #{}), default);
cast(Module, Function, Args, Kwargs) when is_list(Args), is_map(Kwargs) ->
    py_route:cast(none, call_term(Module, Function, Args, Kwargs), default).

%% @doc `cast(Module, Function, Args, Kwargs, Timeout)': `cast/4' with a
%% timeout in milliseconds (or `infinity'), after which the call is
%% interrupted and logged; `cast(Target, Module, Function, Args, Kwargs)':
%% on Target, told apart as `call/5' does.
-spec cast(name(), name(), list(), map(), timeout()) -> ok
        ; (target(), name(), atom() | binary(), list(), map()) -> ok.
cast(Target, Module, Function, Args, Kwargs)
  when ?is_target(Target), ?is_function_name(Function), is_list(Args), is_map(Kwargs) ->
    py_route:cast(Target, call_term(Module, Function, Args, Kwargs), default);
cast(Module, Function, Args, Kwargs, Timeout)
  when is_list(Args), is_map(Kwargs), ?is_timeout(Timeout) ->
    py_route:cast(none, call_term(Module, Function, Args, Kwargs), Timeout).

%% @doc `cast(Target, Module, Function, Args, Kwargs, Timeout)'.
-spec cast(target(), name(), name(), list(), map(), timeout()) -> ok.
cast(Target, Module, Function, Args, Kwargs, Timeout)
  when ?is_target(Target), is_list(Args), is_map(Kwargs), ?is_timeout(Timeout) ->
    py_route:cast(Target, call_term(Module, Function, Args, Kwargs), Timeout).

%% @doc Starts `Module.Function(*Args)' and returns a handle at once; its
%% result is for `await/1,2' in this same process.
-spec spawn_call(name(), name(), list()) -> reference().
spawn_call(Module, Function, Args) ->
    spawn_call(Module, Function, Args, #{}).

%% @doc `spawn_call(Module, Function, Args, Kwargs)': `spawn_call/3' with
%% keyword arguments; `spawn_call(Target, Module, Function, Args)': on
%% Target (any target of `call/4'), told apart as `call/4' does. The
%% handle's `await'/`cancel' reach the member (or node) the call went to.
-spec spawn_call(name(), name(), list(), map()) -> reference()
        ; (target(), name(), atom() | binary(), list()) -> reference().
spawn_call(Target, Module, Function, Args)
  when ?is_target(Target), ?is_function_name(Function), is_list(Args) ->
    py_route:spawn_call(Target, call_term(Module, Function, Args, #{}), default);
spawn_call(Module, Function, Args, Kwargs) when is_list(Args), is_map(Kwargs) ->
    py_route:spawn_call(none, call_term(Module, Function, Args, Kwargs), default).

%% @doc `spawn_call(Module, Function, Args, Kwargs, Timeout)': `spawn_call/4'
%% with the time, in milliseconds (or `infinity'), that may pass before
%% the port starts the call when it is restarting;
%% `spawn_call(Target, Module, Function, Args, Kwargs)': on Target.
-spec spawn_call(name(), name(), list(), map(), timeout()) -> reference()
        ; (target(), name(), atom() | binary(), list(), map()) -> reference().
spawn_call(Target, Module, Function, Args, Kwargs)
  when ?is_target(Target), ?is_function_name(Function), is_list(Args), is_map(Kwargs) ->
    py_route:spawn_call(Target, call_term(Module, Function, Args, Kwargs), default);
spawn_call(Module, Function, Args, Kwargs, Timeout)
  when is_list(Args), is_map(Kwargs), ?is_timeout(Timeout) ->
    py_route:spawn_call(none, call_term(Module, Function, Args, Kwargs), Timeout).

%% @doc `spawn_call(Target, Module, Function, Args, Kwargs, Timeout)'.
-spec spawn_call(target(), name(), name(), list(), map(), timeout()) -> reference().
spawn_call(Target, Module, Function, Args, Kwargs, Timeout)
  when ?is_target(Target), is_list(Args), is_map(Kwargs), ?is_timeout(Timeout) ->
    py_route:spawn_call(Target, call_term(Module, Function, Args, Kwargs), Timeout).

%% @doc The result of a `spawn_call', waiting up to the default timeout.
-spec await(reference()) -> {ok, term()} | {error, error_reason()}.
await(Handle) when is_reference(Handle) ->
    py_async:await(Handle, default).

%% @doc The result of a `spawn_call', waiting up to Timeout ms. On
%% `{error, timeout}' the call goes on: await it again or `cancel/1' it.
-spec await(reference(), timeout()) -> {ok, term()} | {error, error_reason()}.
await(Handle, Timeout) when is_reference(Handle), ?is_timeout(Timeout) ->
    py_async:await(Handle, Timeout).

%% @doc Interrupts a `spawn_call' as a timeout does and forgets it.
-spec cancel(reference()) -> ok.
cancel(Handle) when is_reference(Handle) ->
    py_async:cancel(Handle).

%% @doc Runs the calls `{Module, Function, Args}' (or with Kwargs) at once,
%% on as many executor threads; `{ok, Values}' in their order, or the first
%% error.
-spec parallel([{name(), name(), list()} | {name(), name(), list(), map()}]) ->
          {ok, [term()]} | {error, error_reason()}.
parallel(Calls) when is_list(Calls) ->
    py_route:parallel(none, [parallel_term(C) || C <- Calls], default).

%% @doc `parallel/1' on Target: on a pool the calls are spread over its
%% members (each to the least-loaded one when it is sent), so CPU-bound
%% calls run on as many processes (and cores) as the pool has members.
-spec parallel(target(), [{name(), name(), list()} | {name(), name(), list(), map()}]) ->
          {ok, [term()]} | {error, error_reason()}.
parallel(Target, Calls) when ?is_target(Target), is_list(Calls) ->
    py_route:parallel(Target, [parallel_term(C) || C <- Calls], default).

%% @doc The items of the generator (or any iterable, sync or async) that
%% `Module.Function(*Args)' returns, as one list.
-spec stream(name(), name(), list()) -> {ok, list()} | {error, error_reason()}.
stream(Module, Function, Args) ->
    stream(Module, Function, Args, #{}).

%% @doc `stream(Module, Function, Args, Kwargs)': `stream/3' with keyword
%% arguments; `stream(Target, Module, Function, Args)': on Target (any
%% target of `call/4'), told apart as `call/4' does.
-spec stream(name(), name(), list(), map()) -> {ok, list()} | {error, error_reason()}
        ; (target(), name(), atom() | binary(), list()) -> {ok, list()} | {error, error_reason()}.
stream(Target, Module, Function, Args)
  when ?is_target(Target), ?is_function_name(Function), is_list(Args) ->
    stream(Target, Module, Function, Args, #{});
stream(Module, Function, Args, Kwargs) when is_list(Args), is_map(Kwargs) ->
    call('erlang._stream', collect, stream_source(Module, Function, Args, Kwargs)).

%% @doc `stream(Target, Module, Function, Args, Kwargs)'.
-spec stream(target(), name(), name(), list(), map()) -> {ok, list()} | {error, error_reason()}.
stream(Target, Module, Function, Args, Kwargs) when ?is_target(Target), is_list(Args), is_map(Kwargs) ->
    call(Target, 'erlang._stream', collect, stream_source(Module, Function, Args, Kwargs)).

%% @doc The items of the iterable an expression evaluates to, as one list:
%% `py:stream_eval(<<"(x * x for x in range(5))">>)'.
-spec stream_eval(code()) -> {ok, list()} | {error, error_reason()}.
stream_eval(Code) ->
    stream_eval(Code, #{}).

%% @doc `stream_eval(Code, Locals)': `stream_eval/1' with local names;
%% `stream_eval(Target, Code)': on Target (the 2nd argument is code, not a map).
-spec stream_eval(code(), map()) -> {ok, list()} | {error, error_reason()}
        ; (target(), code()) -> {ok, list()} | {error, error_reason()}.
stream_eval(Code, Locals) when is_map(Locals) ->
    call('erlang._stream', collect, [<<"eval">>, [text(Code), Locals]]);
stream_eval(Target, Code) when ?is_target(Target) ->
    stream_eval(Target, Code, #{}).

%% @doc `stream_eval(Target, Code, Locals)'.
-spec stream_eval(target(), code(), map()) -> {ok, list()} | {error, error_reason()}.
stream_eval(Target, Code, Locals) when ?is_target(Target), is_map(Locals) ->
    call(Target, 'erlang._stream', collect, [<<"eval">>, [text(Code), Locals]]).

%% @doc Starts streaming the items of `Module.Function(*Args)' to the
%% calling process: `{py_stream, Ref, {data, Item}}' per item, then
%% `{py_stream, Ref, done}' or `{py_stream, Ref, {error, Reason}}'.
-spec stream_start(name(), name(), list()) -> {ok, reference()}.
stream_start(Module, Function, Args) ->
    stream_start(Module, Function, Args, #{}).

%% @doc `stream_start(Target, Module, Function, Args, Opts)': `stream_start/4'
%% on Target (any target of `call/4'); the stream stays on the member that
%% runs it, and its acks and cancel go there. On another node the window
%% holds there too; if that node goes down the owner gets
%% `{py_stream, Ref, {error, {nodedown, Node}}}'.
-spec stream_start(target(), name(), name(), list(),
                   #{owner => pid(), window => pos_integer(), kwargs => map()}) ->
          {ok, reference()} | {error, error_reason()}.
stream_start(Target, Module, Function, Args, Opts) when ?is_target(Target) ->
    start_stream(Target, Module, Function, Args, Opts).

%% @doc `stream_start(Module, Function, Args, Opts)': `stream_start/3' with
%% options: `owner' (the process the messages go to, and whose death
%% cancels the stream; default the caller), `window' (at most this many
%% items unacknowledged with `stream_ack/1,2': the generator waits
%% meanwhile; default no limit), `kwargs'. `stream_start(Target, Module,
%% Function, Args)': on Target (see `stream_start/5'), told apart as
%% `call/4' does.
-spec stream_start(name(), name(), list(),
                   #{owner => pid(), window => pos_integer(), kwargs => map()}) ->
          {ok, reference()}
        ; (target(), name(), atom() | binary(), list()) ->
          {ok, reference()} | {error, error_reason()}.
stream_start(Target, Module, Function, Args)
  when ?is_target(Target), ?is_function_name(Function), is_list(Args) ->
    start_stream(Target, Module, Function, Args, #{});
stream_start(Module, Function, Args, Opts) when is_list(Args), is_map(Opts) ->
    start_stream(none, Module, Function, Args, Opts).

%% @doc Acknowledges one item of a windowed stream.
-spec stream_ack(reference()) -> ok.
stream_ack(Ref) ->
    stream_ack(Ref, 1).

%% @doc Acknowledges K items of a windowed stream.
-spec stream_ack(reference(), pos_integer()) -> ok.
stream_ack(Ref, K) when is_reference(Ref), is_integer(K), K > 0 ->
    py_stream:ack(Ref, K).

%% @doc Stops a stream: its generator is closed (its `finally' runs) and no
%% more messages are sent.
-spec stream_cancel(reference()) -> ok.
stream_cancel(Ref) when is_reference(Ref) ->
    py_stream:cancel(Ref).

%% @doc Stores Value under Key in the shared state, which Python reads with
%% `erlang.state_get(Key)'. It outlives port restarts.
-spec state_store(term(), term()) -> ok.
state_store(Key, Value) ->
    py_state:store(Key, Value).

%% @doc The value under Key in the shared state.
-spec state_fetch(term()) -> {ok, term()} | {error, not_found}.
state_fetch(Key) ->
    py_state:fetch(Key).

%% @doc Removes Key from the shared state.
-spec state_remove(term()) -> ok.
state_remove(Key) ->
    py_state:remove(Key).

%% @doc Every key of the shared state.
-spec state_keys() -> [term()].
state_keys() ->
    py_state:keys().

%% @doc Empties the shared state.
-spec state_clear() -> ok.
state_clear() ->
    py_state:clear().

%% @doc Adds 1 to the counter under Key (0 when absent), atomically; the new value.
-spec state_incr(term()) -> integer().
state_incr(Key) ->
    py_state:incr(Key, 1).

%% @doc Adds Amount to the counter under Key (0 when absent), atomically.
-spec state_incr(term(), integer()) -> integer().
state_incr(Key, Amount) when is_integer(Amount) ->
    py_state:incr(Key, Amount).

%% @doc Subtracts 1 from the counter under Key, atomically.
-spec state_decr(term()) -> integer().
state_decr(Key) ->
    py_state:incr(Key, -1).

%% @doc Subtracts Amount from the counter under Key, atomically.
-spec state_decr(term(), integer()) -> integer().
state_decr(Key, Amount) when is_integer(Amount) ->
    py_state:incr(Key, -Amount).

%% @doc The version of the Python interpreter, such as `<<"3.11.2">>'.
-spec version() -> {ok, binary()} | {error, error_reason()}.
version() ->
    try py_coordinator:stats() of
        #{python_version := Version} -> {ok, Version}
    catch
        exit:_ -> {error, not_started}
    end.

%% @doc The garbage collector's figures (`gc_stats', `gc_count',
%% `gc_threshold'), and tracemalloc's (`traced_memory_current',
%% `traced_memory_peak') while it traces.
-spec memory_stats() -> {ok, #{atom() => term()}} | {error, error_reason()}.
memory_stats() ->
    call('erlang._node', memory_stats, []).

%% @doc A full garbage collection in Python; the number of objects collected.
-spec gc() -> {ok, non_neg_integer()} | {error, error_reason()}.
gc() ->
    call(gc, collect, []).

%% @doc A collection of generations 0 to Generation.
-spec gc(0..2) -> {ok, non_neg_integer()} | {error, error_reason()}.
gc(Generation) when Generation =:= 0; Generation =:= 1; Generation =:= 2 ->
    call(gc, collect, [Generation]).

%% @doc Reloads the Python module Module (`importlib.reload'), or imports it
%% when it was not imported yet.
-spec reload(name()) -> ok | {error, error_reason()}.
reload(Module) ->
    case call('erlang._node', reload, [text(Module)]) of
        {ok, _} -> ok;
        Error -> Error
    end.

%% @doc Starts a call of a coroutine function (`async def'), or of any
%% function, and returns a handle at once. A coroutine that a call returns
%% runs as a task on the port's event loop (one thread for every such
%% call), which answers when it finishes; `async_await/1,2' gets it.
-spec async_call(name(), name(), list()) -> reference().
async_call(Module, Function, Args) ->
    spawn_call(Module, Function, Args).

%% @doc `async_call/3' with keyword arguments, or on a target:
%% `async_call(Target, Module, Function, Args)', as `spawn_call/4'.
-spec async_call(name(), name(), list(), map()) -> reference()
        ; (target(), name(), atom() | binary(), list()) -> reference().
async_call(Module, Function, Args, Kwargs) ->
    spawn_call(Module, Function, Args, Kwargs).

%% @doc The result of an `async_call', as `await/1'.
-spec async_await(reference()) -> {ok, term()} | {error, error_reason()}.
async_await(Handle) ->
    await(Handle).

%% @doc The result of an `async_call', as `await/2'; a task left running by
%% a timeout is cancelled with `cancel/1' (CancelledError inside it).
-spec async_await(reference(), timeout()) -> {ok, term()} | {error, error_reason()}.
async_await(Handle, Timeout) ->
    await(Handle, Timeout).

%% @doc Runs the calls at once (coroutines on the event loop, as
%% `asyncio.gather' would); `{ok, Values}' in order, or the first error.
-spec async_gather([{name(), name(), list()} | {name(), name(), list(), map()}]) ->
          {ok, [term()]} | {error, error_reason()}.
async_gather(Calls) ->
    parallel(Calls).

%% @doc `async_gather/1' with one timeout, in milliseconds, for the whole gather.
-spec async_gather([{name(), name(), list()} | {name(), name(), list(), map()}], timeout()) ->
          {ok, [term()]} | {error, error_reason()}.
async_gather(Calls, Timeout) when is_list(Calls), ?is_timeout(Timeout) ->
    py_route:parallel(none, [parallel_term(C) || C <- Calls], Timeout).

%% @doc `Handle.Method(*Args)' on the object a handle names (made with
%% `call/5' and `#{return => ref}'): ``py:call_method(H, append, [4])''.
-spec call_method(py_refs:handle(), name(), list()) -> {ok, term()} | {error, error_reason()}.
call_method(Handle, Method, Args) ->
    call_method(Handle, Method, Args, #{}).

%% @doc `Handle.Method(*Args, **Kwargs)'. erlang_python's older form
%% `call_method(Ctx, Handle, Method, Args)' is accepted too (a handle finds
%% its own port, so Ctx is not needed).
-spec call_method(py_refs:handle(), name(), list(), map()) -> {ok, term()} | {error, error_reason()};
                 (context(), py_refs:handle(), name(), list()) -> {ok, term()} | {error, error_reason()}.
call_method(Handle, Method, Args, Kwargs) when is_list(Args), is_map(Kwargs) ->
    on_handle(Handle, <<"erlang._handles">>, <<"call_method">>, [Handle, text(Method) | Args], Kwargs);
call_method(_Ctx, Handle, Method, Args) when is_list(Args) ->
    call_method(Handle, Method, Args, #{}).

%% @doc The attribute Name of a handle's object, as a term.
-spec getattr(py_refs:handle(), name()) -> {ok, term()} | {error, error_reason()}.
getattr(Handle, Name) ->
    on_handle(Handle, <<"builtins">>, <<"getattr">>, [Handle, text(Name)], #{}).

%% @doc A handle's object converted into a term (the handle stays valid).
-spec to_term(py_refs:handle()) -> {ok, term()} | {error, error_reason()}.
to_term(Handle) ->
    on_handle(Handle, <<"erlang._handles">>, <<"value">>, [Handle], #{}).

%% @doc Whether Term is a handle made by `call/5' with `#{return => ref}'.
-spec is_ref(term()) -> boolean().
is_ref(Term) ->
    py_refs:is_ref(Term).

%% @doc Frees a handle's object in Python now, rather than when its owner
%% exits; `ok' for a handle released already, `{error, stale_ref}' for one
%% whose Python process has restarted (its object went with it).
-spec release(py_refs:handle()) -> ok | {error, error_reason()}.
release(Handle) ->
    is_ref(Handle) orelse error(badarg, [Handle]),
    py_refs:release(Handle).

%% @doc Evaluates one Python expression in the calling process's namespace
%% (in the default pool).
-spec eval(code()) -> {ok, term()} | {error, error_reason()}.
eval(Code) ->
    eval(Code, #{}).

%% @doc `eval(Code, Locals)': with extra local names,
%% ``py:eval(<<"x * 2">>, #{x => 21})''; `eval(Target, Code)': in the
%% calling process's namespace in Target (a pool or a context).
-spec eval(code(), map()) -> {ok, term()} | {error, error_reason()}
        ; (target(), code()) -> {ok, term()} | {error, error_reason()}.
eval(Code, Locals) when is_map(Locals) ->
    py_route:eval(default, text(Code), Locals, default);
eval(Target, Code) when ?is_target(Target) ->
    py_route:eval(Target, text(Code), #{}, default).

%% @doc `eval(Code, Locals, Timeout)': `eval/2' with a timeout in
%% milliseconds (or `infinity'); `eval(Target, Code, Locals)': in Target.
-spec eval(code(), map(), timeout()) -> {ok, term()} | {error, error_reason()}
        ; (target(), code(), map()) -> {ok, term()} | {error, error_reason()}.
eval(Code, Locals, Timeout) when is_map(Locals), ?is_timeout(Timeout) ->
    py_route:eval(default, text(Code), Locals, Timeout);
eval(Target, Code, Locals) when ?is_target(Target), is_map(Locals) ->
    py_route:eval(Target, text(Code), Locals, default).

%% @doc `eval(Target, Code, Locals, Timeout)'.
-spec eval(target(), code(), map(), timeout()) -> {ok, term()} | {error, error_reason()}.
eval(Target, Code, Locals, Timeout) when ?is_target(Target), is_map(Locals), ?is_timeout(Timeout) ->
    py_route:eval(Target, text(Code), Locals, Timeout).

%% @doc Runs Python statements in the calling process's namespace (in the
%% default pool); what they define stays visible to this process's later
%% `eval', `exec' and `py:call('__main__', F, Args)', and to no other
%% process. The namespace is freed when the process exits.
-spec exec(code()) -> ok | {error, error_reason()}.
exec(Code) ->
    py_route:exec(default, text(Code), default).

%% @doc `exec(Code, Timeout)': `exec/1' with a timeout in milliseconds (or
%% `infinity'); `exec(Target, Code)': in the calling process's namespace in
%% Target (a pool or a context).
-spec exec(code(), timeout()) -> ok | {error, error_reason()}
        ; (target(), code()) -> ok | {error, error_reason()}.
exec(Code, Timeout) when ?is_timeout(Timeout) ->
    py_route:exec(default, text(Code), Timeout);
exec(Target, Code) when ?is_target(Target), (is_binary(Code) orelse is_list(Code)) ->
    py_route:exec(Target, text(Code), default).

%% @doc `exec(Target, Code, Timeout)'.
-spec exec(target(), code(), timeout()) -> ok | {error, error_reason()}.
exec(Target, Code, Timeout) when ?is_target(Target), ?is_timeout(Timeout) ->
    py_route:exec(Target, text(Code), Timeout).

%% @doc Makes `Fun(Args)' callable from Python as `erlang.call(Name, *Args)'.
-spec register_function(name(), fun((list()) -> term())) -> ok.
register_function(Name, Fun) when is_function(Fun, 1) ->
    py_registry:register(text(Name), Fun).

%% @doc Makes `Module:Function(Args)' callable from Python as `erlang.call(Name, *Args)'.
-spec register_function(name(), module(), atom()) -> ok.
register_function(Name, Module, Function) when is_atom(Module), is_atom(Function) ->
    py_registry:register(text(Name), {Module, Function}).

%% @doc Removes a registered function; Python calls to it then fail.
-spec unregister_function(name()) -> ok.
unregister_function(Name) ->
    py_registry:unregister(text(Name)).

%% @doc Counters for tests and operators: Python thread channels, live handler
%% processes, pending calls, callbacks in flight, and the port's own view
%% (the README lists every key). Every key is an atom.
-spec stats() -> #{atom() => term()}.
stats() ->
    py_stats:collect().

%% @doc The formatted Python traceback of this process's last failed request.
-spec last_traceback() -> binary() | undefined.
last_traceback() ->
    py_call:last_traceback().

%% @doc Tells the port the OTP logger's primary level now. Python logging
%% records below it are not sent (docs/guide/logging.md). The application
%% does this by itself within a second of a change; call this after
%% `logger:set_primary_config(level, L)' for an effect from the next call on.
-spec sync_log_level() -> ok | {error, error_reason()}.
sync_log_level() ->
    case py_call:request(?PY_LOG_LEVEL, maps:get(level, logger:get_primary_config()), default) of
        {ok, _} -> ok;
        Error -> Error
    end.

%% Internal.

call_term(Module, Function, Args, Kwargs) ->
    _ = length(Args), % an improper list is badarg here
    ok = check_keywords(Kwargs),
    {text(Module), text(Function), Args, Kwargs}.

%% As erlang_python: a stream names a module (dotted), a function and
%% keywords by Python identifiers, else {invalid_python_identifier, Name}.
stream_source(Module, Function, Args, Kwargs) ->
    {M, F, A, Kw} = call_term(Module, Function, Args, Kwargs),
    Names = binary:split(M, <<".">>, [global]) ++ [F | [text(K) || K <- maps:keys(Kw)]],
    [identifier(N) orelse error({invalid_python_identifier, N}, [Module, Function, Args, Kwargs])
     || N <- Names],
    [<<"call">>, [M, F, A, Kw]].

identifier(Name) ->
    re:run(Name, <<"^[\\p{L}\\p{Nl}_][\\p{L}\\p{Nl}\\p{Mn}\\p{Mc}\\p{Nd}\\p{Pc}]*$">>,
           [unicode, ucp, {capture, none}]) =:= match.

parallel_term({M, F, A}) when is_list(A) -> call_term(M, F, A, #{});
parallel_term({M, F, A, Kw}) when is_list(A), is_map(Kw) -> call_term(M, F, A, Kw);
parallel_term(Other) -> error(badarg, [Other]).

start_stream(Target, Module, Function, Args, Opts) when is_list(Args), is_map(Opts) ->
    Owner = maps:get(owner, Opts, self()),
    Window = maps:get(window, Opts, infinity),
    Kwargs = maps:get(kwargs, Opts, #{}),
    true = is_pid(Owner) andalso (Window =:= infinity orelse (is_integer(Window) andalso Window > 0))
        andalso is_map(Kwargs) orelse error(badarg, [Module, Function, Args, Opts]),
    py_route:stream_start(Target, list_to_tuple(stream_source(Module, Function, Args, Kwargs)),
                          Owner, Window).

%% Keyword names are atoms or binaries (Python wants str).
check_keywords(Kwargs) when map_size(Kwargs) =:= 0 ->
    ok;
check_keywords(Kwargs) ->
    case lists:all(fun(K) -> is_atom(K) orelse is_binary(K) end, maps:keys(Kwargs)) of
        true -> ok;
        false -> error(badarg, [Kwargs])
    end.

%% A call on the port a handle lives in; not a handle is badarg.
on_handle(Handle, Module, Function, Args, Kwargs) ->
    is_ref(Handle) orelse error(badarg, [Handle]),
    case py_refs:check(Handle) of
        {ok, Port} -> py_call:request_on(Port, ?PY_CALL, call_term(Module, Function, Args, Kwargs),
                                         default);
        {error, _} = Error -> Error
    end.

text(A) when is_atom(A) -> atom_to_binary(A, utf8);
text(B) when is_binary(B) -> B;
text(L) when is_list(L) ->
    case unicode:characters_to_binary(L) of
        B when is_binary(B) -> B;
        _ -> error(badarg, [L])
    end.
