%% @doc The coordinator: owns the port (one Python OS process) and routes its frames.
%%
%% == Architecture ==
%% Callers encode their own requests and write them to the port with
%% `erlang:port_command/2'; they register `{Ref, self()}' in the pending ETS
%% table first. The coordinator only reads frame headers:
%% <ol>
%% <li>`reply' frames: the pending entry for Ref is taken and the body is
%%     forwarded, undecoded, to the caller.</li>
%% <li>`callback' and `message' frames: forwarded to the handler process of
%%     the frame's channel (one per Python thread), spawned on the channel's
%%     first frame and kept for reuse.</li>
%% </ol>
%% When the port dies every pending caller gets `{error, {port_exit, How}}'
%% at once and the coordinator stops, so the supervisor starts a new port.
-module(py_coordinator).
-behaviour(gen_server).

-include("py_protocol.hrl").

-export([start_link/0, stats/0]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2, terminate/2]).

-record(state, {
    port :: port(),
    pending :: ets:tid(),           % {Ref, CallerPid}, shared with callers
    counters :: counters:counters_ref(), % 1: callbacks in flight
    handlers = #{} :: #{non_neg_integer() => pid()}, % channel -> handler
    os_pid :: integer(),
    python_version :: binary(),
    late_replies = 0 :: non_neg_integer()
}).

-define(IN_FLIGHT, 1).

%% API.

-spec start_link() -> {ok, pid()} | {error, term()}.
start_link() ->
    gen_server:start_link({local, ?MODULE}, ?MODULE, [], []).

%% @doc Counters kept by the coordinator.
-spec stats() -> map().
stats() ->
    gen_server:call(?MODULE, stats).

%% gen_server.

-spec init([]) -> {ok, #state{}} | {stop, term()}.
init([]) ->
    process_flag(trap_exit, true),
    Exe = filename:join(priv_dir(), "erlang_python_port"),
    MaxFrame = env(max_frame_size),
    Args = ["--threads", integer_to_list(env(executor_threads)),
            "--max-frame", integer_to_list(MaxFrame)]
        ++ lists:append([["--path", Dir] || Dir <- env(python_path)]),
    Port = open_port({spawn_executable, Exe},
                     [{packet, 4}, binary, exit_status, use_stdio,
                      {args, Args}, {env, env(env)}]),
    Timeout = env(startup_timeout),
    receive
        {Port, {data, <<?PY_HELLO, _:32, _:64, Body/binary>>}} ->
            {ok, {?PY_PROTOCOL_VERSION, PyVersion, OsPid}} = py_protocol:decode(Body),
            Pending = ets:new(py_pending, [public, set, {write_concurrency, true}]),
            Counters = counters:new(1, [write_concurrency]),
            persistent_term:put(?PY_PORT_KEY, #py_port{port = Port, pending = Pending,
                                                       max_frame = MaxFrame,
                                                       counters = Counters}),
            {ok, #state{port = Port, pending = Pending, counters = Counters,
                        os_pid = OsPid, python_version = PyVersion}};
        {Port, {exit_status, Status}} ->
            {stop, {port_start_failed, exit_how(Status)}}
    after Timeout ->
        catch port_close(Port),
        {stop, {port_start_failed, timeout}}
    end.

-spec handle_call(term(), gen_server:from(), #state{}) -> {reply, term(), #state{}}.
handle_call(stats, _From, S = #state{handlers = Handlers}) ->
    Stats = #{channels => map_size(Handlers),
              handlers => length([P || P <- maps:values(Handlers), is_process_alive(P)]),
              pending_calls => ets:info(S#state.pending, size),
              in_flight_callbacks => counters:get(S#state.counters, ?IN_FLIGHT),
              late_replies => S#state.late_replies,
              os_pid => S#state.os_pid,
              python_version => S#state.python_version},
    {reply, Stats, S};
handle_call(_Other, _From, S) ->
    {reply, {error, unknown_request}, S}.

-spec handle_cast(term(), #state{}) -> {noreply, #state{}}.
handle_cast(_Msg, S) ->
    {noreply, S}.

-spec handle_info(term(), #state{}) -> {noreply, #state{}} | {stop, term(), #state{}}.
handle_info({Port, {data, <<?PY_REPLY, _Channel:32, Ref:64, Body/binary>>}},
            S = #state{port = Port, pending = Pending}) ->
    case ets:take(Pending, Ref) of
        [{_, Caller}] ->
            Caller ! {py_reply, Ref, Body},
            {noreply, S};
        [] ->
            {noreply, S#state{late_replies = S#state.late_replies + 1}}
    end;
handle_info({Port, {data, <<?PY_CALLBACK, Channel:32, Ref:64, Body/binary>>}},
            S = #state{port = Port}) ->
    counters:add(S#state.counters, ?IN_FLIGHT, 1),
    {Handler, S1} = handler(Channel, S),
    Handler ! {py_callback, Ref, Body},
    {noreply, S1};
handle_info({Port, {data, <<?PY_MESSAGE, Channel:32, _Ref:64, Body/binary>>}},
            S = #state{port = Port}) ->
    {Handler, S1} = handler(Channel, S),
    Handler ! {py_message, Body},
    {noreply, S1};
handle_info({Port, {data, Frame}}, S = #state{port = Port}) ->
    logger:error("erlang_python: unexpected frame from the port: ~P", [Frame, 10]),
    {noreply, S};
handle_info({Port, {exit_status, Status}}, S = #state{port = Port}) ->
    How = exit_how(Status),
    fail_pending(S#state.pending, {port_exit, How}),
    {stop, {port_exit, How}, S};
handle_info({'EXIT', Port, Reason}, S = #state{port = Port}) ->
    fail_pending(S#state.pending, {port_exit, Reason}),
    {stop, {port_exit, Reason}, S};
handle_info({'EXIT', Pid, _Reason}, S = #state{handlers = Handlers}) ->
    %% A handler died (it catches every error, so it was killed): forget it;
    %% the channel's next callback spawns a new one.
    Dead = [C || {C, P} <- maps:to_list(Handlers), P =:= Pid],
    {noreply, S#state{handlers = maps:without(Dead, Handlers)}};
handle_info(_Other, S) ->
    {noreply, S}.

-spec terminate(term(), #state{}) -> ok.
terminate(_Reason, S = #state{port = Port}) ->
    persistent_term:erase(?PY_PORT_KEY),
    fail_pending(S#state.pending, port_closed),
    catch port_close(Port),
    ok.

%% Internal.

handler(Channel, S = #state{handlers = Handlers}) ->
    case Handlers of
        #{Channel := Pid} ->
            {Pid, S};
        #{} ->
            Pid = py_handler:start_link(S#state.port, Channel, S#state.counters),
            {Pid, S#state{handlers = Handlers#{Channel => Pid}}}
    end.

fail_pending(Pending, Reason) ->
    [Caller ! {py_down, Ref, Reason} || {Ref, Caller} <- ets:tab2list(Pending)],
    ets:delete_all_objects(Pending),
    ok.

exit_how(Status) when Status > 128 -> {signal, Status - 128};
exit_how(Status) -> {status, Status}.

priv_dir() ->
    case code:priv_dir(erlang_python) of
        {error, bad_name} -> error({no_priv_dir, erlang_python});
        Dir -> Dir
    end.

env(Key) ->
    {ok, Value} = application:get_env(erlang_python, Key),
    Value.
