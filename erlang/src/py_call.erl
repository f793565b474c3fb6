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
%%
%% == Targets ==
%% A request goes to a pool member (`py_pool'): `request/3' to the default
%% pool, `request_to/4' to a pool, a context or `{Pool, Node}', and
%% `request_on/4' to one given `#py_port{}'. In a handler process, a
%% request to the default pool or to the handler's own pool goes to the
%% handler's member, on its Python thread's channel. A request to another
%% node runs there (`erpc'); if that node goes down the caller gets
%% `{error, {nodedown, Node}}' at once.
-module(py_call).

-include("py_protocol.hrl").

-export([request/3, request_to/4, request_on/4, post_to/4, post_on/4,
         await/3, await_unless/4, cancel/2, abandon/3, default_timeout/0, last_traceback/0, target_port/2]).

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
    request_to(default, Kind, Term, Timeout).

%% @doc request/3 to Target: a pool (its least-loaded member), a context
%% (its member), `{Pool, Node}' (a pool on that node) or `{cluster, Pool}'
%% (any member of the pool on any connected node).
-spec request_to(py_pool:target() | {cluster, atom()}, 0..255, term(), timeout() | default) ->
          {ok, term()} | {error, term()}.
request_to(Target, Kind, Term, Timeout) ->
    case py_dist:where(Target) of
        local ->
            await_posted(post_to(Target, Kind, Term, Timeout));
        {local, LocalTarget} ->
            await_posted(post_to(LocalTarget, Kind, Term, Timeout));
        {error, _} = Error ->
            Error;
        {Node, RemoteTarget} ->
            remote_request(Node, RemoteTarget, Kind, Term, Timeout)
    end.

%% @doc request/3 on the given port (a member's `#py_port{}', as
%% `py_pool:port/1' returns it). `{error, port_closed}' when that port has
%% stopped meanwhile.
-spec request_on(#py_port{}, 0..255, term(), timeout() | default) ->
          {ok, term()} | {error, term()}.
request_on(P, Kind, Term, Timeout) ->
    await_posted(post_on(P, Kind, Term, Timeout)).

%% @doc Writes request Kind to a local Target (a pool or a context)
%% without waiting for its answer, which comes to this process. Waits for a
%% (re)starting port, bounded by Timeout, and returns the time left.
-spec post_to(py_pool:target(), 0..255, term(), timeout() | default) ->
          posted() | {error, term()}.
post_to(Target, Kind, Term, Timeout) ->
    case target_port(Target, 0) of
        {ok, P = #py_port{call_timeout = Default}} ->
            case send_request(P, Kind, Term, timeout(Timeout, Default)) of
                stale -> post_to(Target, Kind, Term, Timeout);
                Posted -> Posted
            end;
        {error, timeout} ->
            %% Not started, or the member is restarting: wait for it, bounded
            %% by the call's own timeout.
            T = timeout(Timeout, default_timeout()),
            Start = erlang:monotonic_time(millisecond),
            case target_port(Target, T) of
                {ok, _} ->
                    Waited = erlang:monotonic_time(millisecond) - Start,
                    post_to(Target, Kind, Term, reduce(T, Waited));
                {error, _} = Error ->
                    Error
            end;
        {error, _} = Error ->
            Error
    end.

%% @doc post_to/4 on the given port.
-spec post_on(#py_port{}, 0..255, term(), timeout() | default) -> posted() | {error, term()}.
post_on(P = #py_port{call_timeout = Default}, Kind, Term, Timeout) ->
    case send_request(P, Kind, Term, timeout(Timeout, Default)) of
        stale -> {error, port_closed};
        Posted -> Posted
    end.

%% @doc The port a request to local Target goes to now, waiting up to
%% Timeout ms for a restarting member. In a handler process the default
%% pool and the handler's own pool mean the handler's own member (and its
%% Python thread).
-spec target_port(py_pool:target(), timeout()) -> {ok, #py_port{}} | {error, term()}.
target_port(default, Timeout) ->
    case get(?PY_HANDLER_KEY) of
        undefined ->
            %% The default pool of one member: one read, as before pools.
            case persistent_term:get(?PY_PORT_KEY, undefined) of
                #py_port{pool_size = 1} = P -> {ok, P};
                _ -> py_pool:port(default, Timeout)
            end;
        {P, _Channel, _InFlight} ->
            {ok, P}
    end;
target_port(Target, Timeout) ->
    case get(?PY_HANDLER_KEY) of
        {P = #py_port{pool = Pool}, _, _} when Target =:= Pool ->
            {ok, P};
        {P = #py_port{pool = Pool, index = Index}, _, _}
          when Target =:= #py_context{node = node(), pool = Pool, index = Index} ->
            {ok, P};
        _ ->
            py_pool:port(Target, Timeout)
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

%% @doc Waits for the answer to a posted request unless, first, a message
%% `{Stop, cancel}' comes or the monitor Mon fires: the request is then
%% interrupted (as on a timeout) and the result is `{error, cancelled}'.
-spec await_unless(non_neg_integer(), ets:tid(), reference(), reference()) ->
          {ok, term()} | {error, term()}.
await_unless(Ref, Pending, Stop, Mon) ->
    receive
        {py_reply, Ref, Body} -> reply(Body);
        {py_down, Ref, Reason} -> {error, Reason};
        {Stop, cancel} -> stopped(Ref, Pending);
        {'DOWN', Mon, process, _, _} -> stopped(Ref, Pending)
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
            py_coordinator:cancel(Pending, Ref),
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

timeout(default, Default) -> Default;
timeout(Timeout, _) -> Timeout.

await_posted({posted, Ref, Pending, T}) ->
    case await(Ref, Pending, T) of
        timeout -> timed_out(Ref, Pending);
        Result -> Result
    end;
await_posted({error, _} = Error) ->
    Error.

%% On another node through distribution: erpc, whose monitor ends the wait
%% with `noconnection' as soon as the node is known to be down.
remote_request(Node, Target, Kind, Term, Timeout) ->
    py_dist:request(Node, Target, Kind, Term, timeout(Timeout, default_timeout())).

%% The channel of a request on port Port: the waiting Python thread's when
%% this process is that thread's handler, else any executor.
channel(Port) ->
    case get(?PY_HANDLER_KEY) of
        {#py_port{port = Port}, Channel, _} -> Channel;
        _ -> ?PY_ANY_CHANNEL
    end.

send_request(#py_port{port = Port, pending = Pending, max_frame = Max,
                      max_pending = MaxPending}, Kind, Term, Timeout) ->
    Ref = erlang:unique_integer([positive]),
    Frame = py_protocol:frame(Kind, channel(Port), Ref, Term),
    Size = py_protocol:frame_size(Frame),
    if
        Size > Max ->
            {error, {frame_too_large, Size, Max}};
        true ->
            case ets:info(Pending, size) of
                undefined ->
                    %% The coordinator died after we read #py_port{} (its
                    %% table went with it, and it unpublished the port
                    %% first): the caller waits for the restart like any new call.
                    stale;
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
                            %% its table, between our read and our write:
                            %% nothing was sent. Once the coordinator has
                            %% stopped (it unpublishes the port first) the
                            %% call is stale like one that found the table
                            %% gone: a call to a pool goes to a running member
                            %% or waits for the restart, instead of failing
                            %% while nothing of it ran.
                            catch ets:delete(Pending, Ref),
                            await_owner_exit(Pending, Timeout)
                    end
            end
    end.

%% The port closed under a caller while its coordinator (the owner of the
%% pending table) has not yet heard of it: waits, up to Timeout, for the
%% coordinator to stop (it unpublishes the port first), then `stale'.
await_owner_exit(Pending, Timeout) ->
    case ets:info(Pending, owner) of
        Owner when is_pid(Owner) ->
            Mon = monitor(process, Owner),
            receive
                {'DOWN', Mon, process, _, _} -> stale
            after Timeout ->
                demonitor(Mon, [flush]),
                {error, port_closed}
            end;
        undefined ->
            stale
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
            py_coordinator:cancel(Pending, Ref),
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

stopped(Ref, Pending) ->
    case timed_out(Ref, Pending) of
        {error, timeout} -> {error, cancelled};
        Answered -> Answered
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
