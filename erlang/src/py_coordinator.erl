%% @doc The coordinator: owns the port (one Python OS process: one member of a pool) and routes its frames.
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
%%
%% == Cancellation ==
%% A caller that times out marks its pending entry `cancelled' and calls
%% `cancel/1': the port interrupts the request (an exception in its thread).
%% If no reply comes within `cancel_grace' ms the Python code is stuck where
%% it cannot be interrupted, and the port is killed and restarted. Once a
%% second, entries of callers that died are cancelled the same way.
%%
%% When the port dies every pending caller gets `{error, {port_exit, How}}'
%% at once and the coordinator stops, so the supervisor starts a new port.
%%
%% == Pools ==
%% One coordinator per pool member (`py_pool_sup'). The default pool's
%% first member is registered as `py_coordinator'. At start, after the
%% port's hello, the coordinator tells Python the registered functions and
%% runs the pool's `init' code (in `__main__'), then publishes its
%% `#py_port{}' (`py_pool:member_key/2') with a new incarnation number.
%%
%% == Process ==
%% Every reply passes through this process, so it is a special process
%% (proc_lib + sys) with its own receive loop rather than a gen_server: the
%% gen_server dispatch cost ~0.4 us per reply, 4% of a whole small call
%% (pinned). It keeps the gen_server callbacks' shapes and answers
%% gen_server:call/cast and sys messages, so it behaves like one.
-module(py_coordinator).

-include("py_protocol.hrl").

-export([start_link/3, stats/0, stats/1, cancel/2]).
-export([init_it/2, system_continue/3, system_terminate/4, system_code_change/4,
         system_get_state/1, system_replace_state/2]).

-record(state, {
    port :: port(),
    published :: #py_port{},             % what callers read in persistent_term
    pending :: ets:tid(),                % {Ref, CallerPid | cancelled}, shared with callers
    %% channel -> {handler, its callbacks-in-flight counter}
    handlers = #{} :: #{non_neg_integer() => {pid(), counters:counters_ref()}},
    os_pid :: integer(),
    python_version :: binary(),
    late_replies = 0 :: non_neg_integer(),
    cancelled = 0 :: non_neg_integer(),
    grace :: non_neg_integer(),
    %% Cancelled requests still running: their grace timers, cancelled when
    %% their replies come (10,000 callers killed mid-call would otherwise
    %% leave 10,000 timers for cancel_grace ms).
    grace_timers = #{} :: #{non_neg_integer() => reference()},
    output :: pid(),                     % py_output: Python's stdout/stderr and logging
    log_level :: logger:level() | all | none, % the primary level the port was last told
    killing = false :: boolean(),        % a stuck request made us kill the port
    %% Our own frames (cancel, abort) that found the port busy, oldest
    %% first, and whether a retry is scheduled (see write/2).
    backlog = queue:new() :: queue:queue(iodata()),
    retry_scheduled = false :: boolean()
}).

-define(SWEEP_INTERVAL, 1000).
-define(SETTINGS_KEY, '$py_member_settings').

%% API.

%% @doc Starts member Index of Pool with the pool's whole Settings
%% (py_config:pool_settings/2).
-spec start_link(atom(), pos_integer(), map()) -> {ok, pid()} | {error, term()}.
start_link(Pool, Index, Settings) ->
    proc_lib:start_link(?MODULE, init_it, [self(), {Pool, Index, Settings}]).

%% @doc Counters kept by the default pool's first member.
-spec stats() -> map().
stats() ->
    gen_server:call(?MODULE, stats).

%% @doc Counters kept by one coordinator.
-spec stats(pid()) -> map().
stats(Pid) ->
    gen_server:call(Pid, stats).

%% @doc Interrupts request Ref, whose pending entry (in table Pending) the
%% caller marked `cancelled'. The table's owner is the coordinator of the
%% port the request went to.
-spec cancel(ets:tid(), non_neg_integer()) -> ok.
cancel(Pending, Ref) ->
    case ets:info(Pending, owner) of
        Pid when is_pid(Pid) -> gen_server:cast(Pid, {cancel, Ref});
        undefined -> ok % the port died: its callers were told
    end.

%% The process.

%% @private
-spec init_it(pid(), {atom(), pos_integer(), map()}) -> no_return().
init_it(Parent, Member) ->
    try register_name(Member) of
        true ->
            case init(Member) of
                {ok, S} ->
                    proc_lib:init_ack(Parent, {ok, self()}),
                    loop(Parent, S);
                {stop, Reason} ->
                    proc_lib:init_ack(Parent, {error, Reason}),
                    exit(Reason)
            end
    catch
        error:badarg ->
            proc_lib:init_ack(Parent, {error, {already_started, whereis(?MODULE)}}),
            exit(normal)
    end.

%% Replies first and without any dispatch: they are the hot path.
loop(Parent, S = #state{port = Port}) ->
    receive
        {Port, {data, ?PY_FRAME(?PY_REPLY, _Channel, Ref, Body)}} ->
            loop(Parent, route_reply(Ref, Body, S));
        {'$gen_call', From, Request} ->
            {reply, Reply, S1} = handle_call(Request, From, S),
            gen:reply(From, Reply),
            loop(Parent, S1);
        {'$gen_cast', Message} ->
            {noreply, S1} = handle_cast(Message, S),
            loop(Parent, S1);
        {system, From, Request} ->
            sys:handle_system_msg(Request, From, Parent, ?MODULE, [], S);
        {'EXIT', Parent, Reason} ->
            stop(Reason, S);
        Info ->
            case handle_info(Info, S) of
                {noreply, S1} -> loop(Parent, S1);
                {stop, Reason, S1} -> stop(Reason, S1)
            end
    end.

stop(Reason, S) ->
    terminate(Reason, S),
    exit(Reason).

%% @private
-spec system_continue(pid(), list(), #state{}) -> no_return().
system_continue(Parent, _Debug, S) ->
    loop(Parent, S).

%% @private
-spec system_terminate(term(), pid(), list(), #state{}) -> no_return().
system_terminate(Reason, _Parent, _Debug, S) ->
    stop(Reason, S).

%% @private
-spec system_code_change(#state{}, module(), term(), term()) -> {ok, #state{}}.
system_code_change(S, _Module, _OldVsn, _Extra) ->
    {ok, S}.

%% @private
-spec system_get_state(#state{}) -> {ok, #state{}}.
system_get_state(S) ->
    {ok, S}.

%% @private
-spec system_replace_state(fun((#state{}) -> #state{}), #state{}) -> {ok, #state{}, #state{}}.
system_replace_state(Fun, S) ->
    S1 = Fun(S),
    {ok, S1, S1}.

%% Callbacks, gen_server-shaped.

%% The default pool's first member has the name it had before pools.
register_name({default, 1, _}) -> register(?MODULE, self());
register_name(_) -> true.

-spec init({atom(), pos_integer(), map()}) -> {ok, #state{}} | {stop, term()}.
init({Pool, Index, Settings}) ->
    process_flag(trap_exit, true),
    put(?SETTINGS_KEY, Settings),
    Exe = filename:join(priv_dir(), "erlang_python_port"),
    MaxFrame = env(max_frame_size),
    LogLevel = primary_log_level(),
    Venv = venv(),
    Args = ["--threads", integer_to_list(env(executor_threads)),
            "--max-threads", integer_to_list(env(max_executor_threads)),
            "--idle-exit", integer_to_list(env(executor_idle_timeout)),
            "--max-frame", integer_to_list(MaxFrame)]
        ++ limit_args("--max-memory", env(max_memory))
        ++ limit_args("--max-cpu", env(max_cpu_seconds))
        ++ ["--none-atom", atom_to_list(env(none_atom))]
        ++ lists:append([["--path", Dir] || Dir <- env(python_path)])
        ++ log_args(LogLevel, application:get_env(erlang_python, python_logging, true))
        ++ venv_args(Venv),
    Port = open_port({spawn_executable, Exe},
                     [{packet, 4}, binary, exit_status, use_stdio,
                      {args, Args}, {env, venv_env(Venv, env(env))}]),
    Timeout = env(startup_timeout),
    %% Output written while Python starts stays queued for handle_info.
    receive
        {Port, {data, ?PY_FRAME(?PY_HELLO, _, _, Body)}} ->
            {ok, {?PY_PROTOCOL_VERSION, PyVersion, OsPid}} = py_protocol:decode(Body),
            send_functions(Port, Timeout),
            case run_init(Port, maps:get(init, Settings, undefined), Timeout) of
                ok ->
                    publish(Port, Pool, Index, Settings, PyVersion, OsPid, LogLevel);
                {error, Reason} ->
                    catch port_close(Port),
                    {stop, {pool_init_failed, Pool, Reason}}
            end;
        {Port, {exit_status, Status}} ->
            {stop, {port_start_failed, exit_how(Status)}}
    after Timeout ->
        catch port_close(Port),
        {stop, {port_start_failed, timeout}}
    end.

publish(Port, Pool, Index, Settings, PyVersion, OsPid, LogLevel) ->
    %% No write_concurrency: with it, an insert plus a take cost about
    %% 0.2 us more per call (pinned), and each operation holds the
    %% table's lock only briefly.
    Pending = ets:new(py_pending, [public, set]),
    Published = #py_port{port = Port, pending = Pending,
                         max_frame = env(max_frame_size),
                         max_pending = env(max_pending),
                         call_timeout = env(call_timeout),
                         incarnation = erlang:unique_integer([positive]),
                         pool = Pool, index = Index,
                         pool_size = maps:get(size, Settings)},
    persistent_term:put(py_pool:member_key(Pool, Index), Published),
    py_pool_keeper:member_up(Pool, Index, Published#py_port.incarnation),
    ok = py_dist:join(Pool),
    erlang:send_after(?SWEEP_INTERVAL, self(), sweep),
    Output = py_output:start_link(OsPid),
    {ok, #state{port = Port, published = Published, pending = Pending,
                os_pid = OsPid, python_version = PyVersion,
                grace = env(cancel_grace), output = Output, log_level = LogLevel}}.

-spec handle_call(term(), gen_server:from(), #state{}) -> {reply, term(), #state{}}.
handle_call(stats, _From, S = #state{handlers = Handlers}) ->
    %% Cancelled requests whose Python code has not stopped yet.
    Cancelling = ets:select_count(S#state.pending, [{{'_', cancelled}, [], [true]}]),
    Live = maps:values(Handlers),
    Stats = #{channels => map_size(Handlers),
              handlers => length([P || {P, _} <- Live, is_process_alive(P)]),
              pending_calls => ets:info(S#state.pending, size) - Cancelling,
              cancelling => Cancelling,
              in_flight_callbacks => lists:sum([counters:get(C, 1) || {_, C} <- Live]),
              late_replies => S#state.late_replies,
              cancelled => S#state.cancelled,
              os_pid => S#state.os_pid,
              python_version => S#state.python_version,
              pool => S#state.published#py_port.pool,
              index => S#state.published#py_port.index,
              incarnation => S#state.published#py_port.incarnation},
    {reply, Stats, S};
handle_call(ready, _From, S) ->
    {reply, ok, S};
handle_call(_Other, _From, S) ->
    {reply, {error, unknown_request}, S}.

-spec handle_cast(term(), #state{}) -> {noreply, #state{}}.
handle_cast({cancel, Ref}, S) ->
    {noreply, send_cancel(Ref, S)};
handle_cast(_Msg, S) ->
    {noreply, S}.

-spec handle_info(term(), #state{}) -> {noreply, #state{}} | {stop, term(), #state{}}.
handle_info({Port, {data, ?PY_FRAME(?PY_REPLY, _Channel, Ref, Body)}},
            S = #state{port = Port}) ->
    {noreply, route_reply(Ref, Body, S)};
handle_info({Port, {data, ?PY_FRAME(?PY_CALLBACK, Channel, Ref, Body)}},
            S = #state{port = Port}) ->
    {{Handler, InFlight}, S1} = handler(Channel, S),
    counters:add(InFlight, 1, 1),
    Handler ! {py_serve, {callback, Ref, Body}},
    {noreply, S1};
handle_info({Port, {data, ?PY_FRAME(?PY_MESSAGE, Channel, _Ref, Body)}},
            S = #state{port = Port}) ->
    {{Handler, _}, S1} = handler(Channel, S),
    Handler ! {py_serve, {message, Body}},
    {noreply, S1};
handle_info({Port, {data, ?PY_FRAME(?PY_OUTPUT, _Channel, _Ref, Body)}},
            S = #state{port = Port}) ->
    S#state.output ! {py_output, Body},
    {noreply, S};
handle_info({Port, {data, <<?PY_LOG, _Channel:32, _Ref:64, Body/binary>>}},
            S = #state{port = Port}) ->
    S#state.output ! {py_log, Body},
    {noreply, S};
handle_info({Port, {data, Frame}}, S = #state{port = Port}) ->
    logger:error("erlang_python: unexpected frame from the port: ~P", [Frame, 10]),
    {noreply, S};
handle_info({Port, {exit_status, Status}}, S = #state{port = Port}) ->
    port_down(exit_how(Status), S);
handle_info({'EXIT', Port, Reason}, S = #state{port = Port}) ->
    %% A write failed (epipe) because the process died. The port is closed,
    %% so its exit status is lost unless it has already arrived.
    How = receive
              {Port, {exit_status, Status}} -> exit_how(Status)
          after 0 ->
              Reason
          end,
    port_down(How, S);
handle_info({'EXIT', Pid, Reason}, S = #state{handlers = Handlers}) ->
    %% A handler died (it catches every error, so it was killed). Its Python
    %% thread may be waiting for a result: a result with Ref 0 ends every
    %% wait on the channel with an exception. The next callback on the
    %% channel spawns a new handler.
    Dead = [C || {C, {P, _}} <- maps:to_list(Handlers), P =:= Pid],
    S1 = lists:foldl(fun(C, Acc) -> abort_channel(C, Reason, Acc) end, S, Dead),
    {noreply, S1#state{handlers = maps:without(Dead, Handlers)}};
handle_info(sweep, S) ->
    erlang:send_after(?SWEEP_INTERVAL, self(), sweep),
    {noreply, follow_log_level(sweep_dead_callers(S))};
handle_info(retry_backlog, S) ->
    {noreply, flush_backlog(S#state{retry_scheduled = false})};
handle_info({grace_expired, Ref}, S0 = #state{pending = Pending, grace_timers = Timers}) ->
    S = S0#state{grace_timers = maps:remove(Ref, Timers)},
    case ets:lookup(Pending, Ref) of
        [{Ref, cancelled}] when S#state.killing ->
            ets:delete(Pending, Ref),
            {noreply, S};
        [{Ref, cancelled}] ->
            logger:warning("erlang_python: a cancelled request did not stop within ~p ms; "
                           "killing Python process ~p", [S#state.grace, S#state.os_pid]),
            ets:delete(Pending, Ref),
            %% Once: the exit status follows, and the pid must not be reused.
            _ = os:cmd("kill -KILL " ++ integer_to_list(S#state.os_pid)),
            {noreply, S#state{killing = true}};
        _ ->
            {noreply, S}
    end;
handle_info(_Other, S) ->
    {noreply, S}.

-spec terminate(term(), #state{}) -> ok.
terminate({port_exit, _}, _S) ->
    ok; % unpublished by port_down/2
terminate(Reason, S = #state{port = Port}) ->
    %% A stop: no new requests; those in flight get stop_grace ms to finish.
    unpublish(Reason, S),
    S1 = drain(S, erlang:monotonic_time(millisecond) + env(stop_grace)),
    fail_pending(S1#state.pending, port_closed),
    catch port_close(Port),
    ok.

%% Internal.

%% Before the port is published, so that no request can see Python's
%% `erlang' module without the registered names (py_registry).
send_functions(Port, Timeout) ->
    case py_registry:functions() of
        {_, []} ->
            ok;
        {Version, Names} ->
            Request = {<<"erlang">>, <<"_set_functions">>, [Version, Names], #{}},
            case start_request(Port, ?PY_CALL, Request, Timeout) of
                {ok, _} -> ok;
                Error -> logger:warning("erlang_python: Python was not told of the "
                                        "registered functions: ~0p", [Error])
            end
    end.

%% The pool's `init' code, run in __main__ on every start of the member,
%% before any request can reach it.
run_init(_Port, undefined, _Timeout) ->
    ok;
run_init(Port, Code, Timeout) ->
    case start_request(Port, ?PY_EXEC, unicode:characters_to_binary(Code), Timeout) of
        {ok, _} -> ok;
        {error, Reason} -> {error, Reason}
    end.

%% A request of the coordinator's own while it starts, before the port is
%% published: its answer is the only frame it waits for.
start_request(Port, Kind, Term, Timeout) ->
    Ref = erlang:unique_integer([positive]),
    true = erlang:port_command(Port, py_protocol:frame(Kind, ?PY_ANY_CHANNEL, Ref, Term)),
    receive
        {Port, {data, ?PY_FRAME(?PY_REPLY, _, Ref, Reply)}} ->
            case py_protocol:decode(Reply) of
                {ok, {ok, Value}} -> {ok, Value};
                {ok, {error, {Class, Message, _Trace}}} -> {error, {py_errors:class(Class), Message}};
                {ok, Other} -> {error, Other};
                {error, _} = Error -> Error
            end;
        {Port, {exit_status, _}} = Exit ->
            %% Handled by the loop, once the port is known.
            self() ! Exit,
            {error, port_exit}
    after Timeout ->
        {error, timeout}
    end.

%% The port is gone: callers that retry must wait for the restart, so the
%% port is unpublished before they hear of it.
port_down(How, S) ->
    unpublish({port_exit, How}, S),
    fail_pending(S#state.pending, {port_exit, How}),
    {stop, {port_exit, How}, S}.

unpublish(Reason, #state{published = #py_port{pool = Pool, index = Index, incarnation = Inc}}) ->
    _ = persistent_term:erase(py_pool:member_key(Pool, Index)),
    py_pool_keeper:member_down(Pool, Index, Inc, Reason).

%% Routes frames until no caller waits any more, the port exits, or the deadline.
drain(S = #state{port = Port, pending = Pending}, Deadline) ->
    Waiting = ets:select_count(Pending, [{{'_', '$1'}, [{is_pid, '$1'}], [true]}]),
    Left = Deadline - erlang:monotonic_time(millisecond),
    if
        Waiting =:= 0; Left =< 0 ->
            S;
        true ->
            receive
                {Port, {exit_status, _}} = Exit ->
                    self() ! Exit,
                    S;
                {Port, {data, _}} = Frame ->
                    {noreply, S1} = handle_info(Frame, S),
                    drain(S1, Deadline)
            after Left ->
                S
            end
    end.

route_reply(Ref, Body, S = #state{pending = Pending}) ->
    case ets:take(Pending, Ref) of
        [{_, Caller}] when is_pid(Caller) ->
            Caller ! {py_reply, Ref, Body},
            S;
        [{_, cancelled}] ->
            %% The interrupted request stopped in time.
            late_reply(stop_grace_timer(Ref, S));
        [] ->
            late_reply(S)
    end.

late_reply(S) ->
    S#state{late_replies = S#state.late_replies + 1}.

stop_grace_timer(Ref, S = #state{grace_timers = Timers}) ->
    case maps:take(Ref, Timers) of
        {Timer, Rest} ->
            _ = erlang:cancel_timer(Timer, [{async, true}, {info, false}]),
            S#state{grace_timers = Rest};
        error ->
            S
    end.

send_cancel(Ref, S0) ->
    S = write(py_protocol:frame(?PY_CANCEL, ?PY_ANY_CHANNEL, Ref, {}), S0),
    Timer = erlang:send_after(S#state.grace, self(), {grace_expired, Ref}),
    S#state{cancelled = S#state.cancelled + 1,
            grace_timers = maps:put(Ref, Timer, S#state.grace_timers)}.

%% Writes one of our own frames without ever being suspended: a port whose
%% input queue is full (callers' large requests, or a port slow to read)
%% suspends a plain port_command, and while the coordinator is suspended no
%% reply is routed to anybody (the chaos soak saw every caller stall ~5 s
%% behind one cancel). A busy port: the frame waits in the backlog, in
%% order, retried every millisecond. A closed port: dropped (its exit
%% message follows).
write(Frame, S = #state{backlog = Backlog}) ->
    flush_backlog(S#state{backlog = queue:in(Frame, Backlog)}).

flush_backlog(S = #state{port = Port, backlog = Backlog}) ->
    case queue:out(Backlog) of
        {empty, _} ->
            S;
        {{value, Frame}, Rest} ->
            try erlang:port_command(Port, Frame, [nosuspend]) of
                true -> flush_backlog(S#state{backlog = Rest});
                false -> retry_backlog(S)
            catch
                error:badarg -> S#state{backlog = queue:new()}
            end
    end.

retry_backlog(S = #state{retry_scheduled = true}) ->
    S;
retry_backlog(S) ->
    erlang:send_after(1, self(), retry_backlog),
    S#state{retry_scheduled = true}.

sweep_dead_callers(S = #state{pending = Pending}) ->
    Dead = [Ref || {Ref, Caller} <- ets:tab2list(Pending),
                   is_pid(Caller), not is_process_alive(Caller)],
    lists:foldl(fun(Ref, Acc) ->
                        case ets:update_element(Pending, Ref, {2, cancelled}) of
                            true -> send_cancel(Ref, Acc);
                            false -> Acc
                        end
                end, S, Dead).

abort_channel(Channel, Reason, S) ->
    Text = unicode:characters_to_binary(
             io_lib:format("handler process died: ~0p", [Reason])),
    write(py_protocol:frame(?PY_RESULT, Channel, 0,
                            {error, {exit, handler_died, Text, <<>>}}), S).

handler(Channel, S = #state{handlers = Handlers}) ->
    case Handlers of
        #{Channel := Handler} ->
            {Handler, S};
        #{} ->
            InFlight = counters:new(1, []),
            Handler = {py_handler:start_link(S#state.published, Channel, InFlight), InFlight},
            {Handler, S#state{handlers = Handlers#{Channel => Handler}}}
    end.

fail_pending(Pending, Reason) ->
    [Caller ! {py_down, Ref, Reason} || {Ref, Caller} <- ets:tab2list(Pending), is_pid(Caller)],
    ets:delete_all_objects(Pending),
    ok.

%% OTP tells nobody when the primary level changes: the sweep looks once a
%% second and tells the port (py:sync_log_level/0 does it at once). The
%% answer comes to this process as a reply and is ignored.
follow_log_level(S = #state{log_level = Told, port = Port, pending = Pending}) ->
    case primary_log_level() of
        Told ->
            S;
        Level ->
            Ref = erlang:unique_integer([positive]),
            true = ets:insert(Pending, {Ref, self()}),
            Frame = py_protocol:frame(?PY_LOG_LEVEL, ?PY_ANY_CHANNEL, Ref, Level),
            try erlang:port_command(Port, Frame) catch error:badarg -> ok end,
            S#state{log_level = Level}
    end.

primary_log_level() ->
    maps:get(level, logger:get_primary_config()).

log_args(Level, Bridge) ->
    ["--log-level", atom_to_list(Level)] ++ [ "--log-bridge" || Bridge =:= true ].

venv() ->
    case env(venv) of
        undefined -> undefined;
        Dir -> filename:absname(unicode:characters_to_list(Dir))
    end.

venv_args(undefined) -> [];
venv_args(Dir) -> ["--venv", Dir].

%% As `activate' does: VIRTUAL_ENV, and the venv's bin/ first on PATH,
%% unless the `env' setting names them.
venv_env(undefined, Env) ->
    Env;
venv_env(Dir, Env) ->
    Path = case os:getenv("PATH") of
               false -> filename:join(Dir, "bin");
               P -> filename:join(Dir, "bin") ++ ":" ++ P
           end,
    Ours = [{Name, Value} || {Name, Value} <- [{"VIRTUAL_ENV", Dir}, {"PATH", Path}],
                            not lists:keymember(Name, 1, Env)],
    Ours ++ Env.

limit_args(_Flag, infinity) -> [];
limit_args(Flag, N) when is_integer(N), N > 0 -> [Flag, integer_to_list(N)].

exit_how(Status) when Status > 128 -> {signal, Status - 128};
exit_how(Status) -> {status, Status}.

priv_dir() ->
    case code:priv_dir(erlang_python) of
        {error, bad_name} -> error({no_priv_dir, erlang_python});
        Dir -> Dir
    end.

%% The member's settings: the pool's own over the application's
%% (py_config:pool_settings/2), kept in the process dictionary by init/1.
env(Key) ->
    case get(?SETTINGS_KEY) of
        #{Key := Value} -> Value;
        _ -> {ok, Value} = application:get_env(erlang_python, Key), Value
    end.
