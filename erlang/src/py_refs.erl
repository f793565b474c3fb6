%% @doc Object handles: Python objects kept in the port for an Erlang process
%% (`py:call(Ctx, M, F, A, #{return => ref})'), and the one process per port
%% that frees them when their owner dies.
%%
%% == Message flow ==
%% <ol>
%% <li>The caller makes a key (`make_ref()': no other node or earlier port
%%     can have it), tells this server it owns it (a cast: the server
%%     monitors the caller), then sends a `call_ref' request straight to the
%%     port, which keeps the call's result under the key.</li>
%% <li>The handle it gets back names the key, the port's incarnation, the
%%     port and this server: `call_method', `getattr', `to_term' and
%%     `release' need no context, and a handle passed as an argument is
%%     turned back into the object by the port's term decoder.</li>
%% <li>`release/1', or the owner's death, makes this server send one
%%     `release' frame with the keys (all of a dead owner's keys in one
%%     frame); the port drops the objects (their finalisers run).</li>
%% <li>A release that overtakes the call still making its object (the owner
%%     was killed mid-call) is remembered by the port, which then drops the
%%     object instead of keeping it.</li>
%% </ol>
%% This server is started after the coordinator under the same
%% `rest_for_one' supervisor: a new port restarts it, and every handle of
%% the old port is stale (`{error, stale_ref}'), checked by incarnation. If
%% this server alone restarts, it tells the port to drop every object, and
%% handles naming the dead server are stale too.
-module(py_refs).
-behaviour(gen_server).

-include("py_protocol.hrl").

-export([start_link/0, resolve_target/1, make/3, check/1, is_ref/1, release/1, count/0]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

%% A handle. Its first two elements are what the port's term decoder looks
%% for (docs/protocol.md): the tag and the key.
-record('$py_ref', {key :: reference(),
                    incarnation :: integer(),
                    port :: #py_port{},
                    server :: pid()}).

-opaque handle() :: #'$py_ref'{}.
%% Where a call goes: the port, and the server that tracks its handles.
-type target() :: {#py_port{}, pid()}.
-export_type([handle/0, target/0]).

%% The incarnation of the port the last started server served.
-define(SERVED_KEY, {?MODULE, served}).

-record(state, {
    port :: #py_port{},
    keys = #{} :: #{reference() => pid()},                           % key -> owner
    owners = #{} :: #{pid() => {reference(), #{reference() => true}}} % owner -> {monitor, keys}
}).

%% API.

-spec start_link() -> {ok, pid()} | {error, term()}.
start_link() ->
    gen_server:start_link({local, ?MODULE}, ?MODULE, [], []).

%% @doc The port a call with context Ctx goes to, and the server of its
%% handles. Ctx is a context (`py:context/0,1') or the atom `default'; this
%% build has only the default port. Waits for a (re)starting port up to the
%% application's call_timeout.
-spec resolve_target(default) -> {ok, target()} | {error, py:error_reason()}.
resolve_target(default) ->
    resolve_default(erlang:monotonic_time(millisecond) + py_call:default_timeout()).

%% @doc Calls `{Module, Function, Args, Kwargs}' on Target and keeps the
%% result in Python: a handle owned by the calling process.
-spec make(target(), {binary(), binary(), list(), map()}, timeout() | default) ->
          {ok, handle()} | {error, py:error_reason()}.
make({P = #py_port{incarnation = Incarnation}, Server}, {M, F, A, Kw}, Timeout) ->
    Key = make_ref(),
    %% Owned before it exists: if we die mid-call, the server still frees it.
    gen_server:cast(Server, {own, Key, self()}),
    case py_call:request_on(P, ?PY_CALL_REF, {M, F, A, Kw, Key}, Timeout) of
        {ok, _} ->
            {ok, #'$py_ref'{key = Key, incarnation = Incarnation, port = P, server = Server}};
        {error, {_Class, Message}} = Error when is_binary(Message) ->
            %% Python raised: nothing was kept.
            gen_server:cast(Server, {forget, Key}),
            Error;
        {error, _} = Error ->
            %% A timeout (the call may still finish and keep its result) or a
            %% dead port (the release is then dropped): free it either way.
            gen_server:cast(Server, {release, Key}),
            Error
    end.

%% @doc The port a handle lives in, if it is still there.
-spec check(term()) -> {ok, #py_port{}} | {error, stale_ref | {foreign_ref, node()} | not_a_ref}.
check(#'$py_ref'{key = Key}) when node(Key) =/= node() ->
    {error, {foreign_ref, node(Key)}};
check(#'$py_ref'{incarnation = Incarnation, port = P, server = Server}) ->
    case live(P, Incarnation) andalso is_process_alive(Server) of
        true -> {ok, P};
        false -> {error, stale_ref}
    end;
check(_) ->
    {error, not_a_ref}.

%% @doc Whether Term is a handle.
-spec is_ref(term()) -> boolean().
is_ref(Term) ->
    is_record(Term, '$py_ref').

%% @doc Frees a handle's object now (any process may). Releasing a handle
%% twice is `ok'.
-spec release(handle()) -> ok | {error, stale_ref | {foreign_ref, node()} | not_a_ref}.
release(Handle = #'$py_ref'{key = Key, server = Server}) ->
    case check(Handle) of
        {ok, _} -> gen_server:call(Server, {release, Key});
        {error, _} = Error -> Error
    end;
release(_) ->
    {error, not_a_ref}.

%% @doc Handles held by live processes (of the default port).
-spec count() -> non_neg_integer().
count() ->
    try gen_server:call(?MODULE, count) catch exit:_ -> 0 end.

%% gen_server.

-spec init([]) -> {ok, #state{}}.
init([]) ->
    %% Started after the coordinator, which published its port first.
    P = #py_port{incarnation = Incarnation} = persistent_term:get(?PY_PORT_KEY),
    case persistent_term:get(?SERVED_KEY, undefined) of
        Incarnation ->
            %% This server restarted on its own (it crashed) while the port
            %% lived on: nobody tracks the objects the port keeps, and the
            %% handles naming the dead server are stale; drop them all.
            write(P, all);
        _ ->
            persistent_term:put(?SERVED_KEY, Incarnation)
    end,
    {ok, #state{port = P}}.

-spec handle_call(term(), gen_server:from(), #state{}) -> {reply, term(), #state{}}.
handle_call({release, Key}, _From, S) ->
    {reply, ok, release_key(Key, S)};
handle_call(count, _From, S = #state{keys = Keys}) ->
    {reply, map_size(Keys), S};
handle_call(_Other, _From, S) ->
    {reply, {error, unknown_request}, S}.

-spec handle_cast(term(), #state{}) -> {noreply, #state{}}.
handle_cast({own, Key, Owner}, S = #state{keys = Keys, owners = Owners}) ->
    {Monitor, Held} = case Owners of
                          #{Owner := O} -> O;
                          #{} -> {erlang:monitor(process, Owner), #{}}
                      end,
    {noreply, S#state{keys = Keys#{Key => Owner},
                      owners = Owners#{Owner => {Monitor, Held#{Key => true}}}}};
handle_cast({forget, Key}, S) ->
    {noreply, forget(Key, S)};
handle_cast({release, Key}, S) ->
    {noreply, release_key(Key, S)};
handle_cast(_Other, S) ->
    {noreply, S}.

-spec handle_info(term(), #state{}) -> {noreply, #state{}}.
handle_info({'DOWN', _Monitor, process, Owner, _Reason}, S = #state{keys = Keys, owners = Owners}) ->
    case maps:take(Owner, Owners) of
        {{_, Held}, Rest} ->
            Dead = maps:keys(Held),
            {noreply, free(Dead, S#state{keys = maps:without(Dead, Keys), owners = Rest})};
        error ->
            {noreply, S}
    end;
handle_info(_Other, S) ->
    {noreply, S}.

%% Internal.

%% The port is published by the coordinator's init, and this server starts
%% after it: between the two (a restart), wait a little, within the timeout.
resolve_default(Deadline) ->
    case {persistent_term:get(?PY_PORT_KEY, undefined), whereis(?MODULE)} of
        {#py_port{} = P, Server} when is_pid(Server) ->
            {ok, {P, Server}};
        _ ->
            Left = Deadline - erlang:monotonic_time(millisecond),
            case py_coordinator:await_ready(max(0, Left)) of
                {ok, _} when Left > 0 ->
                    timer:sleep(5),
                    resolve_default(Deadline);
                {ok, _} ->
                    {error, timeout};
                {error, _} = Error ->
                    Error
            end
    end.

%% Whether the port a handle was made on is still the one its coordinator
%% publishes (this build has one: the default port).
live(#py_port{}, Incarnation) ->
    case persistent_term:get(?PY_PORT_KEY, undefined) of
        #py_port{incarnation = Incarnation} -> true;
        _ -> false
    end.

%% Only a key still held: a second release sends nothing.
release_key(Key, S = #state{keys = Keys}) ->
    case is_map_key(Key, Keys) of
        true -> free([Key], forget(Key, S));
        false -> S
    end.

forget(Key, S = #state{keys = Keys, owners = Owners}) ->
    case maps:take(Key, Keys) of
        {Owner, Rest} ->
            #{Owner := {Monitor, Held}} = Owners,
            Held1 = maps:remove(Key, Held),
            Owners1 = case map_size(Held1) of
                          0 ->
                              erlang:demonitor(Monitor, [flush]),
                              maps:remove(Owner, Owners);
                          _ ->
                              Owners#{Owner := {Monitor, Held1}}
                      end,
            S#state{keys = Rest, owners = Owners1};
        error ->
            S
    end.

%% One frame for all the keys; a closed port has freed them already.
free([], S) ->
    S;
free(Keys, S = #state{port = P}) ->
    write(P, Keys),
    S.

write(#py_port{port = Port}, Body) ->
    Frame = py_protocol:frame(?PY_RELEASE, ?PY_ANY_CHANNEL, erlang:unique_integer([positive]), Body),
    try erlang:port_command(Port, Frame) catch error:badarg -> ok end,
    ok.
