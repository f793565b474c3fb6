%% @doc Object handles: Python objects kept in the port for an Erlang process
%% (`py:call(Ctx, M, F, A, #{return => ref})'), and the one process
%% that frees them when their owner dies (for every member of every pool).
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
%% This server is started after the pools under the same `rest_for_one'
%% supervisor. A member whose port restarts loses its objects: its handles
%% are stale (`{error, stale_ref}'), checked by the port's incarnation. If
%% this server alone restarts, it tells every port to drop every object, and
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
    keys = #{} :: #{reference() => {pid(), #py_port{}}},             % key -> owner, its port
    owners = #{} :: #{pid() => {reference(), #{reference() => true}}}, % owner -> {monitor, keys}
    ports = #{} :: #{port() => true}                                  % ports monitored
}).

%% API.

-spec start_link() -> {ok, pid()} | {error, term()}.
start_link() ->
    gen_server:start_link({local, ?MODULE}, ?MODULE, [], []).

%% @doc The port a call with context Ctx goes to, and the server of its
%% handles. Ctx is a context (`py:context/0,1') or a pool name (`default'
%% included: its least-loaded member) of this node; waits for a
%% (re)starting member up to the application's call_timeout.
-spec resolve_target(py_pool:target()) -> {ok, target()} | {error, term()}.
resolve_target({Pool, Node}) when is_atom(Pool), is_atom(Node) ->
    {error, {remote, Node}};
resolve_target(Ctx) ->
    case py_pool:port(Ctx) of
        {ok, P} ->
            case whereis(?MODULE) of
                Server when is_pid(Server) -> {ok, {P, Server}};
                undefined -> {error, not_started}
            end;
        {error, _} = Error ->
            Error
    end.

%% @doc Calls `{Module, Function, Args, Kwargs}' on Target and keeps the
%% result in Python: a handle owned by the calling process.
-spec make(target(), {binary(), binary(), list(), map()}, timeout() | default) ->
          {ok, handle()} | {error, py:error_reason()}.
make({P = #py_port{incarnation = Incarnation}, Server}, {M, F, A, Kw}, Timeout) ->
    Key = make_ref(),
    %% Owned before it exists: if we die mid-call, the server still frees it.
    gen_server:cast(Server, {own, Key, self(), P}),
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

%% @doc Handles held by live processes (every member of every pool).
-spec count() -> non_neg_integer().
count() ->
    try gen_server:call(?MODULE, count) catch exit:_ -> 0 end.

%% gen_server.

-spec init([]) -> {ok, #state{}}.
init([]) ->
    %% Started after the pools. A port that a previous server of this node
    %% handed keys out on still lives (this server restarted on its own):
    %% nobody tracks the objects it keeps, and the handles naming the dead
    %% server are stale; drop them all.
    Served = persistent_term:get(?SERVED_KEY, #{}),
    Live = py_pool:all_ports(),
    _ = [write(P, all) || P = #py_port{incarnation = I} <- Live, is_map_key(I, Served)],
    persistent_term:put(?SERVED_KEY, #{}),
    {ok, #state{}}.

-spec handle_call(term(), gen_server:from(), #state{}) -> {reply, term(), #state{}}.
handle_call({release, Key}, _From, S) ->
    {reply, ok, release_key(Key, S)};
handle_call(count, _From, S = #state{keys = Keys}) ->
    {reply, map_size(Keys), S};
handle_call(_Other, _From, S) ->
    {reply, {error, unknown_request}, S}.

-spec handle_cast(term(), #state{}) -> {noreply, #state{}}.
handle_cast({own, Key, Owner, P = #py_port{port = Port, incarnation = I}},
            S = #state{keys = Keys, owners = Owners, ports = Ports}) ->
    served(I),
    %% A port that stops takes its objects with it: its keys are forgotten.
    Ports1 = case Ports of
                 #{Port := _} -> Ports;
                 #{} -> erlang:monitor(port, Port), Ports#{Port => true}
             end,
    {Monitor, Held} = case Owners of
                          #{Owner := O} -> O;
                          #{} -> {erlang:monitor(process, Owner), #{}}
                      end,
    {noreply, S#state{keys = Keys#{Key => {Owner, P}}, ports = Ports1,
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
            free([{Key, P} || Key <- Dead, {_, P} <- [maps:get(Key, Keys)]]),
            {noreply, S#state{keys = maps:without(Dead, Keys), owners = Rest}};
        error ->
            {noreply, S}
    end;
handle_info({'DOWN', _Monitor, port, Port, _Reason}, S = #state{keys = Keys, ports = Ports}) ->
    Gone = [Key || {Key, {_, #py_port{port = P}}} <- maps:to_list(Keys), P =:= Port],
    {noreply, lists:foldl(fun forget/2, S#state{ports = maps:remove(Port, Ports)}, Gone)};
handle_info(_Other, S) ->
    {noreply, S}.

%% Internal.

%% Whether the port a handle was made on is still the one its member
%% publishes.
live(#py_port{pool = Pool, index = Index}, Incarnation) ->
    case py_pool:member(Pool, Index) of
        {ok, #py_port{incarnation = Incarnation}} -> true;
        _ -> false
    end.

%% Remembers, for a successor of this server, a port it handed keys out on.
served(Incarnation) ->
    Served = persistent_term:get(?SERVED_KEY, #{}),
    case is_map_key(Incarnation, Served) of
        true -> ok;
        false -> persistent_term:put(?SERVED_KEY, Served#{Incarnation => true})
    end.

%% Only a key still held: a second release sends nothing.
release_key(Key, S = #state{keys = Keys}) ->
    case Keys of
        #{Key := {_, P}} -> free([{Key, P}]), forget(Key, S);
        #{} -> S
    end.

forget(Key, S = #state{keys = Keys, owners = Owners}) ->
    case maps:take(Key, Keys) of
        {{Owner, _}, Rest} ->
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

%% One frame per port for all its keys; a closed port has freed them already.
free(KeyPorts) ->
    ByPort = lists:foldl(fun({Key, P}, Acc) ->
                                 maps:update_with(P, fun(Ks) -> [Key | Ks] end, [Key], Acc)
                         end, #{}, KeyPorts),
    maps:foreach(fun(P, Keys) -> write(P, Keys) end, ByPort).

write(#py_port{port = Port}, Body) ->
    Frame = py_protocol:frame(?PY_RELEASE, ?PY_ANY_CHANNEL, erlang:unique_integer([positive]), Body),
    try erlang:port_command(Port, Frame) catch error:badarg -> ok end,
    ok.
