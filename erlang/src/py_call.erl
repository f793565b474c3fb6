%% @doc The caller's half of a request: the pending-table protocol that
%% `py_coordinator' serves from the other side.
%%
%% == Message flow ==
%% <ol>
%% <li>The caller encodes its own request frame (`py_protocol:frame/4'),
%%     inserts `{Ref, self()}' into the pending table and writes the frame
%%     straight to the port: the coordinator is not on the request path.</li>
%% <li>The coordinator takes the entry when the `reply' frame comes and
%%     sends `{py_reply, Ref, Body}'; the caller decodes Body itself.</li>
%% <li>On timeout the caller marks its entry `cancelled' (atomically, unless
%%     the coordinator took it first) and asks the coordinator to interrupt
%%     the request; a reply that comes later is dropped and counted.</li>
%% <li>When the port dies the coordinator sends `{py_down, Ref, Reason}' to
%%     every pending caller.</li>
%% </ol>
%% A handler process (one Python thread's) that makes a request serves the
%% work the coordinator sends it (`{py_serve, Work}') while it waits: the
%% Python thread running the request may call back into Erlang, and those
%% callbacks come to this very process.
-module(py_call).

-include("py_protocol.hrl").

-export([request/3, request_on/4, post/3, await/3, cancel/2, abandon/3, default_timeout/0,
         last_traceback/0]).

-define(TRACEBACK_KEY, '$py_last_traceback').

%% A request written to the port and not yet answered: its Ref, the pending
%% table it is registered in, and the time left of its timeout.
-type posted() :: {posted, non_neg_integer(), ets:tid(), timeout()}.
-export_type([posted/0]).

%% API.

%% @doc Sends request Kind with body Term and waits for its answer; on
%% timeout the request is interrupted. Timeout `default' is the
%% application's call_timeout, read when the port started (an
%% application:get_env per call costs more than the rest of the Erlang side
%% of a small call).
-spec request(0..255, term(), timeout() | default) -> {ok, term()} | {error, py:error_reason()}.
request(Kind, Term, Timeout) ->
    wait(post(Kind, Term, Timeout)).

%% @doc `request/3' on the given port rather than the routed one. A port
%% that has gone (its coordinator died since the record was read) is
%% `{error, port_closed}': nothing is retried on another port.
-spec request_on(#py_port{}, 0..255, term(), timeout() | default) ->
          {ok, term()} | {error, py:error_reason()}.
request_on(P = #py_port{call_timeout = Default}, Kind, Term, Timeout) ->
    case send_request(P, Kind, Term, timeout(Timeout, Default)) of
        gone -> {error, port_closed};
        Posted -> wait(Posted)
    end.

%% @doc Writes request Kind to the port without waiting for its answer,
%% which comes to this process. Waits for a (re)starting port, bounded by
%% Timeout, and returns the time left.
-spec post(0..255, term(), timeout() | default) -> posted() | {error, py:error_reason()}.
post(Kind, Term, Timeout) ->
    case persistent_term:get(?PY_PORT_KEY, undefined) of
        #py_port{call_timeout = Default} = P ->
            case send_request(P, Kind, Term, timeout(Timeout, Default)) of
                %% The coordinator died after we read #py_port{} (its table
                %% went with it, and it unpublished the port first): wait
                %% for the restart like any new call.
                gone -> post(Kind, Term, Timeout);
                Posted -> Posted
            end;
        undefined ->
            %% Not started, or the port is restarting: wait for it, bounded
            %% by the call's own timeout.
            T = timeout(Timeout, default_timeout()),
            case py_coordinator:await_ready(T) of
                {ok, Waited} -> post(Kind, Term, reduce(T, Waited));
                {error, _} = Error -> Error
            end
    end.

%% @doc Waits up to Timeout for the answer to a posted request: the result,
%% or `timeout' (the request goes on; wait again, or cancel/2 it). A
%% handler process serves the callbacks of its Python thread meanwhile.
-spec await(non_neg_integer(), ets:tid(), timeout()) ->
          {ok, term()} | {error, py:error_reason()} | timeout.
await(Ref, Pending, Timeout) ->
    case get(?PY_HANDLER_KEY) of
        undefined -> await_reply(Ref, Pending, Timeout);
        _ -> await_serving(Ref, Pending, deadline(Timeout))
    end.

%% @doc Interrupts a posted request whose answer this process no longer
%% wants, as a timeout does; an answer already delivered is dropped.
-spec cancel(non_neg_integer(), ets:tid()) -> ok.
cancel(Ref, Pending) ->
    _ = timed_out(Ref, Pending),
    ok.

%% @doc From another process than the one waiting: interrupts a posted
%% request and ends Waiter's wait with `{error, cancelled}' (its answer, if
%% one comes, is dropped).
-spec abandon(non_neg_integer(), ets:tid(), pid()) -> ok.
abandon(Ref, Pending, Waiter) ->
    try ets:update_element(Pending, Ref, {2, cancelled}) of
        true ->
            py_coordinator:cancel(Ref),
            Waiter ! {py_down, Ref, cancelled},
            ok;
        false ->
            ok % answered already: the waiter has it or is about to
    catch
        error:badarg ->
            ok % the port died: the waiter was told
    end.

%% @doc The application's call_timeout.
-spec default_timeout() -> timeout().
default_timeout() ->
    case persistent_term:get(?PY_PORT_KEY, undefined) of
        #py_port{call_timeout = Default} -> Default;
        undefined -> application:get_env(erlang_python, call_timeout, 30000)
    end.

%% @doc The formatted Python traceback of this process's last failed request.
-spec last_traceback() -> binary() | undefined.
last_traceback() ->
    get(?TRACEBACK_KEY).

%% Internal.

wait({posted, Ref, Pending, T}) ->
    case await(Ref, Pending, T) of
        timeout -> timed_out(Ref, Pending);
        Result -> Result
    end;
wait({error, _} = Error) ->
    Error.

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
                    gone;
                N when N >= MaxPending ->
                    {error, overloaded};
                _ ->
                    try
                        true = ets:insert(Pending, {Ref, self()}),
                        erlang:port_command(Port, Frame, [nosuspend])
                    of
                        true ->
                            {posted, Ref, Pending, Timeout};
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
                            {posted, Ref, Pending, Timeout}
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

await_reply(Ref, _Pending, Timeout) ->
    receive
        {py_reply, Ref, Body} -> reply(Body);
        {py_down, Ref, Reason} -> {error, Reason}
    after Timeout ->
        timeout
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
        {py_serve, Work} ->
            ok = py_handler:serve(Work),
            await_serving(Ref, Pending, Deadline)
    after remaining(Deadline) ->
        timeout
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
