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

-export([call/3, call/4, call/5,
         eval/1, eval/2, eval/3,
         exec/1, exec/2,
         register_function/2, register_function/3, unregister_function/1,
         stats/0, last_traceback/0]).

-export_type([name/0, code/0, error_reason/0]).

-type name() :: atom() | binary() | string().
-type code() :: binary() | string().
-type error_reason() :: {atom() | binary(), binary()} | timeout | not_started
                      | {port_exit, {status | signal, integer()} | epipe}
                      | {frame_too_large, pos_integer(), pos_integer()}
                      | {bad_term, {unknown_atom, binary()} | malformed} | port_closed | overloaded.

-define(TRACEBACK_KEY, '$py_last_traceback').

%% API.

%% @doc Calls `Module.Function(*Args)' with the default timeout.
%% Module may be dotted: `py:call('os.path', join, [<<"a">>, <<"b">>])'.
-spec call(name(), name(), list()) -> {ok, term()} | {error, error_reason()}.
call(Module, Function, Args) ->
    call(Module, Function, Args, #{}).

%% @doc Calls `Module.Function(*Args, **Kwargs)'; Kwargs keys are atoms or binaries.
-spec call(name(), name(), list(), map()) -> {ok, term()} | {error, error_reason()}.
call(Module, Function, Args, Kwargs) when is_list(Args), is_map(Kwargs) ->
    request(?PY_CALL, {text(Module), text(Function), Args, Kwargs}, default).

%% @doc Like `call/4' with a timeout in milliseconds (or `infinity').
-spec call(name(), name(), list(), map(), timeout()) ->
          {ok, term()} | {error, error_reason()}.
call(Module, Function, Args, Kwargs, Timeout) when is_list(Args), is_map(Kwargs) ->
    request(?PY_CALL, {text(Module), text(Function), Args, Kwargs}, Timeout).

%% @doc Evaluates one Python expression in the `__main__' namespace.
-spec eval(code()) -> {ok, term()} | {error, error_reason()}.
eval(Code) ->
    eval(Code, #{}).

%% @doc Evaluates an expression with extra local names: `py:eval(<<"x * 2">>, #{x => 21})'.
-spec eval(code(), map()) -> {ok, term()} | {error, error_reason()}.
eval(Code, Locals) ->
    eval_request(Code, Locals, default).

%% @doc Like `eval/2' with a timeout in milliseconds (or `infinity').
-spec eval(code(), map(), timeout()) -> {ok, term()} | {error, error_reason()}.
eval(Code, Locals, Timeout) ->
    eval_request(Code, Locals, Timeout).

%% @doc Runs Python statements in `__main__'; what they define stays visible
%% to later `eval' and to `py:call('__main__', F, Args)'.
-spec exec(code()) -> ok | {error, error_reason()}.
exec(Code) ->
    exec_request(Code, default).

%% @doc Like `exec/1' with a timeout in milliseconds (or `infinity').
-spec exec(code(), timeout()) -> ok | {error, error_reason()}.
exec(Code, Timeout) ->
    exec_request(Code, Timeout).

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
%% processes, pending calls, callbacks in flight, and the port's own view.
-spec stats() -> map().
stats() ->
    Local = try py_coordinator:stats() catch exit:_ -> #{running => false} end,
    case request(?PY_STATS, {}, default) of
        {ok, Port} -> Local#{port => Port};
        {error, _} -> Local
    end.

%% @doc The formatted Python traceback of this process's last failed request.
-spec last_traceback() -> binary() | undefined.
last_traceback() ->
    get(?TRACEBACK_KEY).

%% Internal.

eval_request(Code, Locals, Timeout) when is_map(Locals) ->
    request(?PY_EVAL, {text(Code), Locals}, Timeout).

exec_request(Code, Timeout) ->
    case request(?PY_EXEC, text(Code), Timeout) of
        {ok, _} -> ok;
        Error -> Error
    end.

%% Timeout `default': the application's call_timeout, read when the port
%% started (an application:get_env per call costs more than the rest of the
%% Erlang side of a small call).
request(Kind, Term, Timeout) ->
    case persistent_term:get(?PY_PORT_KEY, undefined) of
        #py_port{call_timeout = Default} = P ->
            send_request(P, Kind, Term, timeout(Timeout, Default));
        undefined ->
            %% Not started, or the port is restarting: wait for it, bounded
            %% by the call's own timeout.
            T = timeout(Timeout, application:get_env(erlang_python, call_timeout, 30000)),
            case py_coordinator:await_ready(T) of
                {ok, Waited} -> request(Kind, Term, reduce(T, Waited));
                {error, _} = Error -> Error
            end
    end.

timeout(default, Default) -> Default;
timeout(Timeout, _) -> Timeout.

send_request(#py_port{port = Port, pending = Pending, max_frame = Max,
                      max_pending = MaxPending}, Kind, Term, Timeout) ->
    Ref = erlang:unique_integer([positive]),
    Frame = py_protocol:frame(Kind, py_protocol:channel(), Ref, Term),
    Size = py_protocol:frame_size(Frame),
    if
        Size > Max ->
            {error, {frame_too_large, Size, Max}};
        true ->
            case ets:info(Pending, size) of
                undefined ->
                    %% The coordinator died after we read #py_port{} (its
                    %% table went with it, and it unpublished the port
                    %% first): wait for the restart like any new call.
                    request(Kind, Term, Timeout);
                N when N >= MaxPending ->
                    {error, overloaded};
                _ ->
                    try
                        true = ets:insert(Pending, {Ref, self()}),
                        erlang:port_command(Port, Frame, [nosuspend])
                    of
                        true ->
                            await(Ref, Pending, Timeout);
                        false ->
                            %% The port is busy (its input queue is full): a
                            %% plain port_command would suspend this caller,
                            %% and its timeout could not fire meanwhile (the
                            %% chaos soak saw callers held 1 s past it). A
                            %% helper waits to write the frame; the caller
                            %% waits for the reply as usual. If the port dies
                            %% first, the coordinator tells every pending
                            %% caller, this one included.
                            _ = spawn(fun() -> catch erlang:port_command(Port, Frame) end),
                            await(Ref, Pending, Timeout)
                    catch
                        error:badarg ->
                            %% The port closed, or the coordinator died with
                            %% its table, between our read and our write.
                            catch ets:delete(Pending, Ref),
                            {error, port_closed}
                    end
            end
    end.

reduce(infinity, _) -> infinity;
reduce(Timeout, Waited) -> max(0, Timeout - Waited).

await(Ref, Pending, Timeout) ->
    case get(?PY_HANDLER_KEY) of
        undefined -> await_reply(Ref, Pending, Timeout);
        _ -> await_serving(Ref, Pending, deadline(Timeout))
    end.

await_reply(Ref, Pending, Timeout) ->
    receive
        {py_reply, Ref, Body} -> reply(Body);
        {py_down, Ref, Reason} -> {error, Reason}
    after Timeout ->
        timed_out(Ref, Pending)
    end.

%% In a handler process, the Python thread running our request may call
%% back into Erlang: those callbacks come to this very process, so serve
%% them while waiting, or both sides would wait for each other.
await_serving(Ref, Pending, Deadline) ->
    receive
        {py_reply, Ref, Body} ->
            reply(Body);
        {py_down, Ref, Reason} ->
            {error, Reason};
        {py_callback, _, _} = Nested ->
            ok = py_handler:serve(Nested),
            await_serving(Ref, Pending, Deadline);
        {py_message, _} = Nested ->
            ok = py_handler:serve(Nested),
            await_serving(Ref, Pending, Deadline)
    after remaining(Deadline) ->
        timed_out(Ref, Pending)
    end.

timed_out(Ref, Pending) ->
    %% Atomically marks the request cancelled unless its reply was taken.
    try ets:update_element(Pending, Ref, {2, cancelled}) of
        true ->
            py_coordinator:cancel(Ref),
            {error, timeout};
        false ->
            %% The coordinator took the entry: its message is on the way.
            await_reply(Ref, Pending, infinity)
    catch
        error:badarg ->
            %% The coordinator died with its table; it told every caller it
            %% knew of, and this one may already have been told.
            receive
                {py_reply, Ref, Body} -> reply(Body);
                {py_down, Ref, Reason} -> {error, Reason}
            after 0 ->
                {error, timeout}
            end
    end.

deadline(infinity) -> infinity;
deadline(Timeout) -> erlang:monotonic_time(millisecond) + Timeout.

remaining(infinity) -> infinity;
remaining(Deadline) -> max(0, Deadline - erlang:monotonic_time(millisecond)).

reply(Body) ->
    try binary_to_term(Body, [safe]) of
        {ok, Value} ->
            {ok, Value};
        {error, {Class, Message, Traceback}} ->
            put(?TRACEBACK_KEY, Traceback),
            {error, {py_errors:class(Class), Message}}
    catch
        error:badarg -> py_protocol:decode(Body)
    end.

text(A) when is_atom(A) -> atom_to_binary(A, utf8);
text(B) when is_binary(B) -> B;
text(L) when is_list(L) ->
    case unicode:characters_to_binary(L) of
        B when is_binary(B) -> B;
        _ -> error(badarg, [L])
    end.
