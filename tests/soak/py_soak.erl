%% @doc The chaos soak (`make soak'): a mixed load on erlang_python, faults injected at random, invariants checked all along.
%%
%% == What runs ==
%% Workers: one Erlang process loops over one workload entry (`workloads/0':
%% a table; a new request kind or a pool joins the mix with one entry). A
%% controller runs cycles: load for a while, one fault from `faults/0' (also
%% a table), wait for recovery, load again, then a quiet point: the workers
%% pause after their current call and the invariants that need calm are
%% checked (nothing pending, handler and channel counts back to their
%% bounds). A watchdog checks every call in flight all along.
%%
%% == Invariants (each breach is a violation; any violation exits 1) ==
%% <ul>
%% <li>No caller waits past its timeout plus 1 s (watchdog, and on return).</li>
%% <li>Every answer is the right one, or an `{error, _}' (counted by reason).</li>
%% <li>After each fault the port answers again within 15 s (a new OS
%%     process when the fault kills it, the same one when it must not).</li>
%% <li>At each quiet point: no pending or cancelling entry, no callback in
%%     flight, every handler alive, no handler process of a dead port,
%%     channels within their bound.</li>
%% <li>From the first quiet point to the end: atom count unchanged, BEAM
%%     memory and port RSS within stated bounds.</li>
%% </ul>
-module(py_soak).

-export([main/1]).
%% Called from Python (soak_fixture.py) through erlang.call.
-export([soak_add/1, soak_nest/1]).

-define(FIX, soak_fixture).
-define(CANCEL_GRACE, 2000).          % the application's default
-define(LATE_MS, 1000).               % a caller may wait its timeout plus this
-define(RECOVERY_LIMIT_MS, 15000).
-define(NEST_TIMEOUT, 9000).          % the inner calls of a nested chain
-define(MAX_EXECUTORS, 40).
-define(CHANNEL_BOUND, 96).           % 16 reverse threads + 41 executor threads, with room
-define(BEAM_GROWTH_BOUND, 64 * 1024 * 1024).
-define(RSS_GROWTH_BOUND, 128 * 1024 * 1024).
-define(MiB, (1024 * 1024)).

-type outcome() :: ok | {error, term()} | {wrong, term()}.
-type workload() :: #{name := atom(), procs := pos_integer(), timeout := pos_integer(),
                      run := fun((non_neg_integer()) -> outcome())}.
-type fault() :: #{name := atom(), restarts := boolean() | maybe, inject := fun(() -> ok)}.

%% The tables.

%% The load: each entry runs in `procs' processes, each call bounded by
%% `timeout' ms; `run' makes one call and says whether the answer was right.
-spec workloads() -> [workload()].
workloads() ->
    only("SOAK_WORKLOADS", all_workloads()).

%% SOAK_WORKLOADS / SOAK_FAULTS (comma-separated names) narrow the mix,
%% e.g. to chase one violation.
only(Var, Entries) ->
    case os:getenv(Var) of
        false -> Entries;
        Names -> [E || E = #{name := N} <- Entries,
                       lists:member(atom_to_list(N), string:lexemes(Names, ","))]
    end.

all_workloads() ->
    [#{name => short, procs => 200, timeout => 5000,
       run => fun(N) -> expect({ok, N}, py:call(?FIX, echo, [N], #{}, 5000)) end},
     #{name => reverse_16_threads, procs => 1, timeout => 20000,
       run => fun(_) -> expect({ok, 16 * 25}, py:call(?FIX, reverse, [16, 25], #{}, 20000)) end},
     #{name => nested_5_deep, procs => 4, timeout => 10000,
       run => fun(_) -> expect({ok, 5}, py:call(?FIX, nest, [5], #{}, 10000)) end},
     #{name => large_payload, procs => 2, timeout => 10000, run => fun large_payload/1},
     #{name => timeout_sleep, procs => 2, timeout => 300,
       run => fun(_) -> expect({error, timeout},
                               py:call(?FIX, sleep, [30], #{}, 50 + rand:uniform(250))) end},
     #{name => timeout_spin, procs => 1, timeout => 300,
       run => fun(_) -> expect({error, timeout},
                               py:call(?FIX, spin, [30], #{}, 50 + rand:uniform(250))) end},
     #{name => caller_killed, procs => 4, timeout => 1000, run => fun caller_killed/1}].

%% The faults, one at random per cycle. `restarts': the port must be a new
%% OS process afterwards (else the same one).
-spec faults() -> [fault()].
faults() ->
    only("SOAK_FAULTS", all_faults()).

all_faults() ->
    [#{name => sigkill, restarts => true, inject => fun() -> os_kill("KILL") end},
     #{name => sigsegv, restarts => true, inject => fun() -> os_kill("SEGV") end},
     #{name => os_exit, restarts => true,
       inject => fun() -> {error, _} = py:call(?FIX, exit_now, [3], #{}, 5000), ok end},
     %% Killed after cancel_grace when it runs; a request cancelled before
     %% it started never runs (the port answers it at once): then nothing
     %% is stuck. Either way nothing may stay pending (the quiet point).
     #{name => stuck_c_call, restarts => maybe, inject => fun stuck_c_call/0},
     #{name => handler_killed, restarts => false, inject => fun kill_handlers/0},
     #{name => registry_restarted, restarts => true,
       inject => fun() -> exit(whereis(py_registry), kill), ok end}].

%% Workload helpers.

expect(Want, Want) -> ok;
expect(_Want, {error, _} = Error) -> Error;
expect(_Want, Got) -> {wrong, Got}.

%% 1..4 MiB to Python (its size comes back), or 1 MiB there and back.
large_payload(N) when N rem 2 =:= 0 ->
    Bin = binary:copy(<<N:32>>, (rand:uniform(4) * ?MiB) div 4),
    expect({ok, byte_size(Bin)}, py:call(?FIX, size, [Bin], #{}, 10000));
large_payload(N) ->
    Bin = binary:copy(<<N:32>>, ?MiB div 4),
    expect({ok, Bin}, py:call(?FIX, echo, [Bin], #{}, 10000)).

%% A caller killed while its call (a 5 s time.sleep) is pending or running.
caller_killed(_) ->
    P = spawn(fun() -> py:call(?FIX, sleep, [5], #{}, 10000) end),
    receive after rand:uniform(200) -> ok end,
    exit(P, kill),
    ok.

%% Erlang functions Python calls.

-spec soak_add([integer()]) -> integer().
soak_add([A, B]) -> A + B.

-spec soak_nest([non_neg_integer()]) -> non_neg_integer().
soak_nest([Depth]) ->
    {ok, V} = py:call(?FIX, nest, [Depth], #{}, ?NEST_TIMEOUT),
    V.

%% Fault helpers.

%% Returns once the stuck request is over: answered, or its port killed.
stuck_c_call() ->
    %% timeout, or another error if the port died meanwhile (another fault's
    %% kill, a grace kill): then nothing is stuck.
    {error, _} = py:call(?FIX, c_block, [60], #{}, 100),
    Over = fun() ->
                   case catch py_coordinator:stats() of
                       #{cancelling := 0} -> ok;
                       %% The coordinator died with its port, or is
                       %% starting the next one: the stuck request is gone.
                       {'EXIT', {{port_exit, _}, _}} -> ok;
                       {'EXIT', {noproc, _}} -> ok;
                       Other -> {stuck, Other}
                   end
           end,
    case poll(Over, now_ms() + ?CANCEL_GRACE + 3000) of
        ok -> ok;
        Stuck -> violation({stuck_request_not_killed, Stuck})
    end.

%% The coordinator may be restarting (a grace kill just took its port):
%% the signal goes to the next port, once the coordinator answers again.
os_kill(Signal) ->
    Answers = fun() ->
                      case os_pid() of
                          undefined -> {coordinator_unresponsive, coordinator_info()};
                          _ -> ok
                      end
              end,
    case poll(Answers, now_ms() + ?RECOVERY_LIMIT_MS) of
        ok ->
            case os_pid() of
                undefined -> os_kill(Signal); % gone again meanwhile
                Pid -> _ = os:cmd("kill -" ++ Signal ++ " " ++ integer_to_list(Pid)), ok
            end;
        Unresponsive ->
            violation(Unresponsive)
    end.

kill_handlers() ->
    case handler_processes() of
        [] -> ok;
        Hs -> [exit(H, kill) || H <- lists:sublist(shuffle(Hs), rand:uniform(3))], ok
    end.

handler_processes() ->
    [P || P <- processes(), proc_lib:translate_initial_call(P) =:= {py_handler, init, 3}].

%% Entry point.

%% Keeps the coordinator's warnings, drops the crash and supervisor reports.
%% Counts the kills of a port whose cancelled request did not stop in time.
quiet(#{level := warning, msg := {Format, _}} = Event, _) when is_list(Format) ->
    case string:find(Format, "erlang_python") of
        nomatch ->
            stop;
        _ ->
            case string:find(Format, "did not stop") of
                nomatch -> ok;
                _ -> count(grace_kills, coordinator), keep_tracebacks(Event)
            end,
            Event
    end;
quiet(_, _) ->
    stop.

%% @doc `erl -run py_soak main Seconds FixtureDir': exits 0 without violations, else 1.
-spec main([string()]) -> no_return().
main([Seconds, FixtureDir]) ->
    S = list_to_integer(Seconds),
    try run(S, FixtureDir) of
        0 -> halt(0);
        _ -> halt(1)
    catch
        C:R:St ->
            io:format("soak crashed: ~p:~p~n~p~n", [C, R, St]),
            halt(2)
    end.

run(Seconds, FixtureDir) ->
    %% Crash reports of the faults we cause would drown the summary.
    %% (The coordinator's own warnings stay: they say why it killed a port.)
    logger:set_primary_config(level, warning),
    logger:add_primary_filter(soak_quiet, {fun quiet/2, []}),
    ok = application:load(erlang_python),
    %% soak_fixture.py dumps its threads' tracebacks there on SIGUSR2.
    ok = filelib:ensure_dir(filename:join(trace_dir(), "x")),
    [ok = file:delete(F) || F <- filelib:wildcard(filename:join(trace_dir(), "port-*.txt"))],
    true = os:putenv("SOAK_TRACE_DIR", trace_dir()),
    [application:set_env(erlang_python, K, V)
     || {K, V} <- [{python_path, [FixtureDir]}, {cancel_grace, ?CANCEL_GRACE},
                   {restart_intensity, {1000, 60}}, {stop_grace, 1000},
                   %% The pool grows while requests wait behind blocked ones;
                   %% bounded here so that the channel bound below means
                   %% something (every executor thread holds a channel).
                   {max_executor_threads, ?MAX_EXECUTORS}]],
    {ok, _} = application:ensure_all_started(erlang_python),
    ok = register_functions(),
    %% Atoms that appear once and for all on first use are not a leak: load
    %% every module of the application (py_errors names Python's built-in
    %% exception classes), and name the errno atom a failed port write
    %% brings ({port_exit, epipe}), before the baseline is taken.
    {ok, Modules} = application:get_key(erlang_python, modules),
    %% string and unicode_util: loaded by the first io_lib formatting of an
    %% abort (a killed handler), which the warm-up does not always reach.
    [{module, _} = code:ensure_loaded(M) || M <- Modules ++ [string, unicode_util]],
    io:format("soak: first-use atoms named up front: ~p~n", [[epipe]]),
    new_tables(),
    Workers = start_workers(),
    Watchdog = spawn_link(fun() -> watchdog(now_ms()) end),
    Monitor = spawn_link(fun system_monitor/0),
    io:format("soak: ~p workers, ~p s; warming up with each fault once~n",
              [length(Workers), Seconds]),
    %% Warm-up: every fault once, so that what loads on first use (report
    %% formatting, modules) is loaded before the atom baseline.
    [cycle(F, Workers) || F <- faults()],
    Start = measure(Workers),
    io:format("soak: baseline ~s~n", [format_measure(Start)]),
    Deadline = now_ms() + Seconds * 1000,
    soak(Deadline, Workers),
    End = measure(Workers),
    judge_suspects(),
    [W ! stop || W <- Workers],
    [begin unlink(P), exit(P, kill) end || P <- [Watchdog, Monitor]],
    check_end(Start, End),
    summary(Seconds, Start, End).

soak(Deadline, Workers) ->
    case now_ms() < Deadline of
        true ->
            Faults = faults(),
            cycle(lists:nth(rand:uniform(length(Faults)), Faults), Workers),
            soak(Deadline, Workers);
        false ->
            ok
    end.

%% Load, a fault, recovery, more load, a quiet point with its checks.
cycle(#{name := Name, restarts := Restarts, inject := Inject}, Workers) ->
    load(1000 + rand:uniform(3000)),
    Before = os_pid(),
    T0 = now_ms(),
    Kills0 = grace_kills(),
    ets:insert(soak_ctl, {last_fault, Name, T0}),
    ok = try Inject() catch C:R -> violation({fault_not_injected, Name, C, R}) end,
    io:format("soak: ~p ms: ~p~n", [T0 rem 1000000, Name]),
    case recover(Name, Before, Restarts, Kills0, T0 + ?RECOVERY_LIMIT_MS) of
        {ok, Pid} ->
            count(faults, Name),
            [count(restarts, Name) || Pid =/= Before],
            ets:insert(soak_recovery, {make_ref(), Name, now_ms() - T0});
        {timeout, Last} ->
            violation({no_recovery, Name, Last, catch py_coordinator:stats()})
    end,
    load(500 + rand:uniform(1500)),
    quiet_point(Name, Workers).

%% The workers run meanwhile: the controller only waits.
load(Ms) ->
    receive after Ms -> ok end.

%% Until the port answers (a new OS process if the fault restarts it); the
%% functions are registered again after a registry restart (it lost them).
recover(Name, Before, Restarts, Kills0, Deadline) ->
    recover(Name, Before, Restarts, Kills0, Deadline, none).

recover(Name, Before, Restarts, Kills0, Deadline, Last) ->
    Now = now_ms(),
    case Now > Deadline + stalled(Deadline - ?RECOVERY_LIMIT_MS, Now) of
        true ->
            {timeout, Last};
        false ->
            case py:call(?FIX, os_pid, [], #{}, 1000) of
                {ok, Before} when Restarts =:= true ->
                    recover(Name, Before, Restarts, Kills0, Deadline, Before);
                {ok, Pid} when Name =:= registry_restarted ->
                    %% The registry may be restarting again (a grace kill
                    %% meanwhile restarts it with the port): until it takes them.
                    case catch register_functions() of
                        ok -> {ok, Pid};
                        Error -> recover(Name, Before, Restarts, Kills0, Deadline, Error)
                    end;
                {ok, Pid} when Restarts =/= false; Pid =:= Before -> {ok, Pid};
                {ok, Pid} ->
                    %% Not this fault's doing if a request that did not
                    %% stop within cancel_grace got the port killed (the
                    %% kill may be logged just before the fault, and take
                    %% effect after it).
                    [violation({port_restarted_by, Name, Before, Pid})
                     || grace_kills() =:= Kills0, not grace_killed(Before)],
                    {ok, Pid};
                {error, _} = E -> recover(Name, Before, Restarts, Kills0, Deadline, E)
            end
    end.

register_functions() ->
    ok = py:register_function(soak_add, ?MODULE, soak_add),
    ok = py:register_function(soak_nest, ?MODULE, soak_nest).

%% The quiet point: workers pause after their current call; then what must
%% be back to its baseline is checked, with time for cancelled requests to
%% stop (cancel_grace) and handlers of a dead port to exit.
quiet_point(After, Workers) ->
    pause(Workers),
    judge_suspects(),
    Check = fun() -> calm_state() end,
    case poll(Check, now_ms() + calm_limit()) of
        ok -> sample_rss();
        {not_calm, What} -> violation({not_back_to_baseline, {after_fault, After}, What})
    end,
    resume(Workers).

%% The port's RSS at each quiet point, by port OS process: whether one
%% port's RSS keeps growing or levels off (the start/end bound compares two
%% different ports when a fault restarted it in between).
sample_rss() ->
    case os_pid() of
        undefined -> ok;
        Pid -> ets:insert(soak_rss, {Pid, now_ms(), rss(Pid)}), ok
    end.

%% How long the work still in flight when the workers pause may take to end:
%% a nested chain's inner call (its own timeout, then cancel_grace for its
%% cancel), with the late allowance. A killed handler or a timed-out outer
%% call leaves such inner calls running until their own timeout.
calm_limit() ->
    ?NEST_TIMEOUT + ?CANCEL_GRACE + ?LATE_MS.

calm_state() ->
    try py_coordinator:stats() of
        #{pending_calls := 0, cancelling := 0, in_flight_callbacks := 0,
          channels := Channels, handlers := Handlers} when Handlers =:= Channels ->
            case {length(handler_processes()), py:stats()} of
                {Handlers, #{port := #{channels := Created}}}
                  when Created =< ?CHANNEL_BOUND, Channels =< ?CHANNEL_BOUND ->
                    ok;
                {Live, Port} ->
                    {not_calm, {handler_processes, Live, Port}}
            end;
        Stats ->
            {not_calm, Stats}
    catch
        exit:Why -> {not_calm, {coordinator, Why}}
    end.

%% Until Fun() returns ok or Deadline passes; the deadline moves by the VM
%% stalls recorded meanwhile (the rule of the late-call invariant: nothing can
%% happen in time while the VM does not run).
poll(Fun, Deadline) ->
    poll(Fun, Deadline, now_ms()).

poll(Fun, Deadline, Since) ->
    case Fun() of
        ok -> ok;
        Other ->
            Now = now_ms(),
            case Now > Deadline + stalled(Since, Now) andalso past_after_watchdog(Now, Deadline, Since) of
                true -> Other;
                false -> receive after 50 -> poll(Fun, Deadline, Since) end
            end
    end.

%% A stall is recorded when the watchdog wakes after it, maybe after this
%% process: the watchdog's period later, is Now still past the deadline?
past_after_watchdog(Now, Deadline, Since) ->
    receive after 300 -> ok end,
    Now > Deadline + stalled(Since, Now).

pause(Workers) ->
    ets:insert(soak_ctl, {phase, pause}),
    Limit = now_ms() + lists:max([T || #{timeout := T} <- workloads()]) + 2 * ?LATE_MS,
    case poll(fun() -> idle_count(length(Workers)) end, Limit) of
        ok -> ok;
        {busy, N} -> violation({workers_not_pausing, N})
    end.

idle_count(Total) ->
    case ets:info(soak_idle, size) of
        Total -> ok;
        N -> {busy, Total - N}
    end.

resume(Workers) ->
    ets:insert(soak_ctl, {phase, run}),
    ets:delete_all_objects(soak_idle),
    [W ! resume || W <- Workers],
    ok.

%% Workers.

start_workers() ->
    lists:append([[spawn_link(fun() -> worker(W, 0) end) || _ <- lists:seq(1, P)]
                  || W = #{procs := P} <- workloads()]).

worker(W = #{name := Name, timeout := Timeout, run := Run}, N) ->
    case ets:lookup_element(soak_ctl, phase, 2) of
        run ->
            ok;
        pause ->
            ets:insert(soak_idle, {self()}),
            receive
                resume -> ok;
                stop -> exit(normal)
            end
    end,
    Start = now_ms(),
    ets:insert(soak_calls, {self(), Name, Start, Timeout}),
    Outcome = try Run(N) catch C:R -> {wrong, {crashed, C, R}} end,
    Elapsed = now_ms() - Start,
    ets:delete(soak_calls, self()),
    count(made, Name),
    case Outcome of
        ok -> count(answered, Name);
        {error, Reason} ->
            count({error, reason(Reason)}, Name),
            %% Errors come fast while the port restarts: pace the retries.
            receive after 10 -> ok end;
        {wrong, Got} -> violation({wrong_answer, Name, Got})
    end,
    %% Judged at the next quiet point: a stall that explains it may be
    %% recorded only after this call returns (the watchdog wakes late).
    [ets:insert(soak_suspects, {make_ref(), {answered_late, Name, Elapsed, Timeout},
                                Start, Start + Elapsed, Timeout, violation_context()})
     || Elapsed > Timeout + ?LATE_MS],
    case ets:lookup(soak_max_wait, Name) of
        [{_, Max}] when Max >= Elapsed -> ok;
        _ -> ets:insert(soak_max_wait, {Name, Elapsed}) % racy between workers: a rough max
    end,
    worker(W, N + 1).

%% An error's reason without its message text (one count per kind).
reason({Class, Message}) when is_binary(Message) -> Class;
reason(Reason) -> Reason.

%% Every call in flight, every 250 ms: none past its timeout plus 1 s. A
%% watchdog that itself wakes up over 500 ms late shows that the VM did not
%% run (the OS gave its threads no CPU: the machine is overloaded). Such a
%% stall is recorded; a call's allowance grows by the stalls that overlap it
%% (nothing in Erlang or the port can answer while the VM does not run), and
%% the summary counts the stalls, their total, and the calls they excused.
watchdog(Last) ->
    Now = now_ms(),
    [begin
         io:format("soak: the VM did not run for ~p ms~n", [Now - Last - 250]),
         count(stalls, vm),
         ets:update_counter(soak_counts, {vm, stalled_ms}, Now - Last - 250, {{vm, stalled_ms}, 0}),
         ets:insert(soak_stalls, {Last + 250, Now})
     end || Now - Last > 250 + 500],
    ets:insert(soak_ctl, {watchdog_tick, Now}),
    [case ets:insert_new(soak_hung, {{P, Start}}) of
         true ->
             What = {caller_waiting_past_timeout, Name, P, Now - Start, Timeout,
                     {caller, erlang:process_info(P, [status, current_stacktrace])},
                     {coordinator, coordinator_info()}},
             ets:insert(soak_suspects, {make_ref(), What, Start, Now, Timeout, violation_context()});
         false ->
             ok
     end || {P, Name, Start, Timeout} <- ets:tab2list(soak_calls),
            Now - Start > Timeout + ?LATE_MS + stalled(Start, Now)],
    receive after 250 -> watchdog(Now) end.

%% What the VM itself sees: a process or port holding a scheduler over
%% 200 ms, a garbage collection over 200 ms, a process suspended on a busy port.
system_monitor() ->
    erlang:system_monitor(self(), [{long_schedule, 200}, {long_gc, 200}, busy_port]),
    system_monitor_loop().

system_monitor_loop() ->
    receive
        {monitor, Who, What, Info} ->
            count(What, system_monitor),
            %% A process that held its scheduler over 500 ms without doing
            %% anything long (the soak's processes and the coordinator make
            %% short steps): that scheduler thread got no CPU from the OS.
            %% Counted as a stall of the calls it overlaps, like the
            %% watchdog's, and printed so a reader can judge.
            case {What, Info} of
                {long_schedule, [{timeout, T} | _]} when T >= 500 ->
                    Now = now_ms(),
                    count(scheduler_stalls, vm),
                    ets:insert(soak_stalls, {Now - T, Now});
                _ ->
                    ok
            end,
            [io:format("soak: system_monitor ~p ~p ~P~n", [What, who(Who), Info, 12])
             || What =/= busy_port],
            system_monitor_loop()
    end.

who(P) when is_pid(P) -> {P, proc_lib:translate_initial_call(P)};
who(P) -> P.

%% Bookkeeping.

%% Late calls: a violation unless VM stalls (recorded by now) overlapping
%% the call make up the difference; else counted as excused. Judged after
%% the watchdog's next tick: when the VM has just not run, this process may
%% run before the watchdog, which records that stall only when it wakes (a
%% soak run printed three late calls as violations, then "the VM did not
%% run for 2770 ms").
judge_suspects() ->
    await_watchdog_tick(now_ms()),
    [begin
         ets:delete(soak_suspects, Key),
         case To - From > Timeout + ?LATE_MS + stalled(From, To) of
             true -> record_violation({What, Context});
             false -> count(excused_by_stall, late_calls)
         end
     end || {Key, What, From, To, Timeout, Context} <- ets:tab2list(soak_suspects)],
    ok.

await_watchdog_tick(After) ->
    case ets:lookup(soak_ctl, watchdog_tick) of
        [{_, Tick}] when Tick > After -> ok;
        _ -> receive after 50 -> await_watchdog_tick(After) end
    end.

%% Milliseconds of VM stall inside [From, To].
stalled(From, To) ->
    lists:sum([max(0, min(To, E) - max(From, B)) || {B, E} <- ets:tab2list(soak_stalls)]).

coordinator_info() ->
    case whereis(py_coordinator) of
        undefined -> undefined;
        C -> erlang:process_info(C, [status, message_queue_len, current_stacktrace])
    end.

new_tables() ->
    [ets:new(T, [named_table, public, set, {write_concurrency, true}])
     || T <- [soak_ctl, soak_idle, soak_calls, soak_counts, soak_hung, soak_max_wait,
              soak_recovery, soak_violations, soak_suspects]],
    ets:new(soak_stalls, [named_table, public, bag]),
    ets:new(soak_rss, [named_table, public, bag]),
    ets:new(soak_traces, [named_table, public, bag]),
    ets:insert(soak_ctl, {phase, run}),
    ok.

count(What, Name) ->
    ets:update_counter(soak_counts, {Name, What}, 1, {{Name, What}, 0}).

violation(What) ->
    record_violation({What, violation_context()}).

%% The last fault injected before now, and how long before.
violation_context() ->
    case ets:lookup(soak_ctl, last_fault) of
        [{_, Fault, T0}] -> {after_fault, Fault, now_ms() - T0};
        [] -> none
    end.

record_violation(What) ->
    io:format("soak: VIOLATION ~p~n", [What]),
    ets:insert(soak_violations, {make_ref(), What}),
    ok.

grace_killed(OsPid) ->
    ets:member(soak_ctl, {grace_killed, OsPid}).

grace_kills() ->
    case ets:lookup(soak_counts, {coordinator, grace_kills}) of
        [{_, N}] -> N;
        [] -> 0
    end.

os_pid() ->
    try py_coordinator:stats() of
        #{os_pid := P} -> P
    catch
        exit:_ -> undefined
    end.

%% BEAM memory (after a collection everywhere), port RSS, atom count.
measure(Workers) ->
    pause(Workers),
    _ = poll(fun calm_state/0, now_ms() + calm_limit()),
    [erlang:garbage_collect(P) || P <- processes()],
    M = #{beam => erlang:memory(total), rss => rss(os_pid()),
          atoms => erlang:system_info(atom_count), at => now_ms()},
    resume(Workers),
    M.

rss(Pid) ->
    case file:read_file("/proc/" ++ integer_to_list(Pid) ++ "/status") of
        {ok, Status} ->
            {match, [Kb]} = re:run(Status, "VmRSS:\\s+(\\d+)", [{capture, all_but_first, list}]),
            list_to_integer(Kb) * 1024;
        {error, _} ->
            0
    end.

format_measure(#{beam := B, rss := R, atoms := A}) ->
    io_lib:format("BEAM memory ~.1f MiB, port RSS ~.1f MiB, atoms ~p",
                  [B / ?MiB, R / ?MiB, A]).

check_end(#{beam := B0, rss := R0, atoms := A0}, #{beam := B1, rss := R1, atoms := A1}) ->
    [violation({atom_count_changed, A0, A1, atoms_since(A0)}) || A1 =/= A0],
    [violation({beam_memory_grew, B1 - B0}) || B1 - B0 > ?BEAM_GROWTH_BOUND],
    [violation({port_rss_grew, R1 - R0}) || R1 - R0 > ?RSS_GROWTH_BOUND],
    ok.

summary(Seconds, Start, End) ->
    Counts = ets:tab2list(soak_counts),
    Names = [N || #{name := N} <- workloads()],
    io:format("~n=== soak summary: ~p s of load after warm-up (~.1f s measured) ===~n",
              [Seconds, (maps:get(at, End) - maps:get(at, Start)) / 1000]),
    io:format("~-20s ~9s ~9s ~8s  errors by reason~n",
              ["workload", "made", "answered", "max ms"]),
    [begin
         Made = proplists:get_value({N, made}, Counts, 0),
         Ok = proplists:get_value({N, answered}, Counts, 0),
         Errors = [{R, C} || {{N1, {error, R}}, C} <- Counts, N1 =:= N],
         Max = case ets:lookup(soak_max_wait, N) of [{_, M}] -> M; [] -> 0 end,
         io:format("~-20s ~9b ~9b ~8b  ~p~n", [N, Made, Ok, Max, lists:sort(Errors)])
     end || N <- Names],
    Totals = fun(What) -> lists:sum([C || {{_, W}, C} <- Counts, W =:= What]) end,
    io:format("calls made ~p, answered ~p, errors ~p~n",
              [Totals(made), Totals(answered),
               lists:sum([C || {{_, {error, _}}, C} <- Counts])]),
    Faults = [{F, proplists:get_value({F, faults}, Counts, 0),
               proplists:get_value({F, restarts}, Counts, 0)} || #{name := F} <- faults()],
    io:format("faults (kind, injected, port restarts): ~p~n", [Faults]),
    io:format("ports killed by the coordinator (a cancelled request did not stop within "
              "cancel_grace ~p ms): ~p~n", [?CANCEL_GRACE, grace_kills()]),
    io:format("late calls excused by VM or scheduler stalls that overlap them: ~p~n",
              [proplists:get_value({late_calls, excused_by_stall}, Counts, 0)]),
    io:format("VM stalls over 500 ms (the watchdog woke late): ~p, ~p ms in all; "
              "scheduler stalls over 500 ms (long_schedule): ~p; system_monitor events: ~p~n",
              [proplists:get_value({vm, stalls}, Counts, 0),
               proplists:get_value({vm, stalled_ms}, Counts, 0),
               proplists:get_value({vm, scheduler_stalls}, Counts, 0),
               [{W, C} || {{system_monitor, W}, C} <- Counts]]),
    summarise_traces(),
    summarise_rss(),
    Rec = lists:sort([Ms || {_, _, Ms} <- ets:tab2list(soak_recovery)]),
    io:format("recovery ms over ~p faults: p50 ~p, p99 ~p, max ~p~n",
              [length(Rec), pct(Rec, 50), pct(Rec, 99), lists:last([0 | Rec])]),
    io:format("start: ~s~nend:   ~s~n", [format_measure(Start), format_measure(End)]),
    io:format("bounds: atoms unchanged, BEAM memory +~p MiB, port RSS +~p MiB; "
              "callers wait at most timeout + ~p ms~n",
              [?BEAM_GROWTH_BOUND div ?MiB, ?RSS_GROWTH_BOUND div ?MiB, ?LATE_MS]),
    Violations = ets:tab2list(soak_violations),
    io:format("invariant violations: ~p~n", [length(Violations)]),
    [io:format("  ~p~n", [V]) || {_, V} <- Violations],
    length(Violations).

%% Grace kills: what the port's threads were running when the coordinator
%% gave up on a cancelled request. Called from the logger filter, in the
%% coordinator, before it kills the port: SIGUSR2 makes soak_fixture.py's
%% faulthandler write every thread's Python traceback to a file; the file is
%% read once its size stops changing (at most 500 ms: the kill waits that
%% long, a cost of this diagnosis). A port that never imported the fixture
%% has no handler: the signal is not sent then (SIGUSR2 would kill it).
keep_tracebacks(#{msg := {_, [_Grace, OsPid]}}) when is_integer(OsPid) ->
    ets:insert(soak_ctl, {{grace_killed, OsPid}}),
    File = filename:join(trace_dir(), "port-" ++ integer_to_list(OsPid) ++ ".txt"),
    case filelib:is_regular(File) of
        true ->
            _ = os:cmd("kill -USR2 " ++ integer_to_list(OsPid)),
            ets:insert(soak_traces, {OsPid, settled_file(File, -1, now_ms() + 500)});
        false ->
            ets:insert(soak_traces, {OsPid, <<>>})
    end;
keep_tracebacks(_) ->
    ok.

settled_file(File, LastSize, Deadline) ->
    receive after 20 -> ok end,
    {ok, Text} = file:read_file(File),
    case byte_size(Text) of
        Size when Size > 0, Size =:= LastSize -> Text;
        Size ->
            case now_ms() > Deadline of
                true -> Text;
                false -> settled_file(File, Size, Deadline)
            end
    end.

trace_dir() ->
    filename:join(filename:dirname(code:which(?MODULE)), "traces").

%% Per grace kill: the innermost soak_fixture function of each thread that
%% was in one (faulthandler's format: most recent call first).
summarise_traces() ->
    Kills = [{Pid, fixture_functions(Text)} || {Pid, Text} <- ets:tab2list(soak_traces)],
    WithCBlock = [K || {_, Fs} = K <- Kills, is_list(Fs), lists:keymember(<<"c_block">>, 1, Fs)],
    io:format("grace kills with tracebacks: ~p; with a thread in the injected stuck C call "
              "(c_block): ~p~n", [length([K || {_, Fs} = K <- Kills, Fs =/= no_dump]),
                                  length(WithCBlock)]),
    [io:format("  grace kill of port ~p, threads in soak_fixture: ~s~n", [Pid, format_counts(Fs)])
     || {Pid, Fs} <- Kills -- WithCBlock],
    ok.

fixture_functions(<<>>) ->
    no_dump;
fixture_functions(Text) ->
    Threads = tl(re:split(Text, "^(?:Thread|Current thread) 0x", [multiline])),
    Names = lists:append(
              [case re:run(T, "soak_fixture\\.py\", line \\d+ in (\\w+)",
                           [{capture, all_but_first, binary}]) of
                   {match, [F]} -> [F];
                   nomatch -> []
               end || T <- Threads]),
    count_names(lists:sort(Names)).

format_counts(no_dump) -> "no dump (the port had not imported soak_fixture)";
format_counts(Counts) -> lists:join(", ", [[N, " ", integer_to_list(C)] || {N, C} <- Counts]).

count_names([]) -> [];
count_names([N | _] = Names) ->
    {Same, Rest} = lists:splitwith(fun(X) -> X =:= N end, Names),
    [{N, length(Same)} | count_names(Rest)].

%% The RSS at quiet points: overall, and for the port that lived longest.
summarise_rss() ->
    Samples = ets:tab2list(soak_rss),
    Pids = lists:usort([P || {P, _, _} <- Samples]),
    ByPid = [{length(S), P, [{T, R} || {_, T, R} <- lists:keysort(2, S)]}
             || P <- Pids, S <- [[X || X = {P1, _, _} <- Samples, P1 =:= P]]],
    case lists:reverse(lists:sort(ByPid)) of
        [] ->
            ok;
        [{N, Pid, Series = [{T0, _} | _]} | _] ->
            Rss = [R || {_, _, R} <- Samples],
            {TN, _} = lists:last(Series),
            io:format("port RSS at ~p quiet points (~p ports): median ~.1f MiB, max ~.1f MiB; "
                      "longest-lived port ~p, ~p quiet points over ~.1f s: ~s MiB~n",
                      [length(Samples), length(Pids), pct(lists:sort(Rss), 50) / ?MiB,
                       lists:max(Rss) / ?MiB, Pid, N, (TN - T0) / 1000,
                       lists:join(" ", [io_lib:format("~.1f", [R / ?MiB]) || {_, R} <- Series])])
    end.

%% The atoms created since the table held Count (by their index).
atoms_since(Count) ->
    try [binary_to_term(<<131, 75, I:24>>) || I <- lists:seq(Count, erlang:system_info(atom_count) - 1)]
    catch error:badarg -> unavailable
    end.

pct([], _) -> 0;
pct(Sorted, P) -> lists:nth(max(1, (length(Sorted) * P + 99) div 100), Sorted).

shuffle(L) -> [X || {_, X} <- lists:sort([{rand:uniform(), X} || X <- L])].

now_ms() -> erlang:monotonic_time(millisecond).
