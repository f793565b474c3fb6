%% @doc Fault injection: whatever Python does, the BEAM keeps running, every
%% caller gets a clear answer promptly, the port restarts and the next call
%% works. The acceptance list of issue 5, one case per item (the crash item
%% has one case per way of dying). Every measured figure goes to ct:pal.
%%
%% The Python side is py_fault_SUITE_data/fault_fixture.py. Every case
%% starts the application afresh with the settings it needs (`settings/1'),
%% so cases are independent and a case that kills the port cannot leak into
%% the next one. Waiting is done on events (messages, monitors) or by
%% polling an external condition (/proc, the coordinator's counters) against
%% a deadline; the only sleeps are the Python workloads themselves.
-module(py_fault_SUITE).

-include_lib("common_test/include/ct.hrl").
-include("py_protocol.hrl").

-export([all/0, init_per_suite/1, end_per_suite/1,
         init_per_testcase/2, end_per_testcase/2]).
-export([os_exit_answers_every_caller_in_flight/1,
         segfault_answers_every_caller_in_flight/1,
         sigkill_answers_every_caller_in_flight/1,
         calls_racing_a_crash_wait_or_get_its_signal/1,
         busy_loop_is_interrupted_by_timeout/1,
         sleep_is_interrupted_by_timeout/1,
         call_blocked_in_c_is_killed_after_grace/1,
         busy_port_does_not_stall_the_coordinator/1,
         busy_port_does_not_hold_a_caller_past_its_timeout/1,
         blast_radius_of_a_stuck_call/1,
         blast_radius_of_a_stuck_call_in_a_pool_of_2/1,
         caller_timeout_holds_while_a_member_stops/1,
         dead_callers_leave_no_pending_entries/1,
         print_flood_keeps_protocol_and_reaches_logger/1,
         killed_beam_takes_its_port_along/1,
         thread_waiting_on_killed_handler_raises/1,
         overload_beyond_max_pending_is_refused/1,
         memory_limit_gives_memory_error/1,
         cpu_limit_kills_and_restarts_port/1,
         stop_lets_calls_in_flight_finish/1]).

%% Erlang functions called from Python.
-export([crash_gate/1, park/1, hold/1, echo/1]).

%% The suite is also a logger handler (it forwards Python's output lines to
%% the test process) and a handler filter (it keeps the flood out of the
%% other handlers, which would copy 10 MB into the CT logs).
-export([log/2, drop_python_output/2]).

-define(FIX, fault_fixture).
-define(CLIENTS, 100).          % Erlang processes calling during a crash ...
-define(CALLS_PER_CLIENT, 10).  % ... each with this many calls in flight
-define(DEAD_CALLERS, 10000).
-define(FLOOD_LINES, 10240).    % 10240 lines of 1024 bytes: 10 MiB
-define(FLOOD_WIDTH, 1024).
-define(OUTPUT_HANDLER, py_fault_output).
-define(MiB, (1024 * 1024)).

all() ->
    [os_exit_answers_every_caller_in_flight,
     segfault_answers_every_caller_in_flight,
     sigkill_answers_every_caller_in_flight,
     calls_racing_a_crash_wait_or_get_its_signal,
     busy_loop_is_interrupted_by_timeout,
     sleep_is_interrupted_by_timeout,
     call_blocked_in_c_is_killed_after_grace,
     busy_port_does_not_stall_the_coordinator,
     busy_port_does_not_hold_a_caller_past_its_timeout,
     blast_radius_of_a_stuck_call,
     blast_radius_of_a_stuck_call_in_a_pool_of_2,
     caller_timeout_holds_while_a_member_stops,
     dead_callers_leave_no_pending_entries,
     print_flood_keeps_protocol_and_reaches_logger,
     killed_beam_takes_its_port_along,
     thread_waiting_on_killed_handler_raises,
     overload_beyond_max_pending_is_refused,
     memory_limit_gives_memory_error,
     cpu_limit_kills_and_restarts_port,
     stop_lets_calls_in_flight_finish].

%% The atom table is measured around the whole suite. Loading a module adds
%% its atoms, so everything the suite and the application load is loaded
%% first, and one start/call/crash/stop cycle runs before the count is taken
%% (the crash loads the supervisor's and logger's report formatting). Two
%% more things create atoms on first use and are used here first: the `ct'
%% module (loaded by the first ct:pal; its atoms, such as
%% 'multiple cases running', showed up in the first case) and
%% erlang:memory/0, whose first call in a node names ERTS's allocators
%% (~300 atoms: driver_alloc, ll_alloc, ...). And `sys': the coordinator is a
%% special process, and the first system message it handles loads `sys'
%% (30 atoms: do_get_state, suspend_loop_hib, ...), at a time that depends
%% on scheduling.
init_per_suite(Config) ->
    [{module, _} = code:ensure_loaded(M)
     || M <- [ct, peer, sys, py, py_app, py_sup, py_registry, py_coordinator, py_handler,
              py_protocol, py_errors, py_output, logger_filters]],
    ct:pal("erlang:memory() at the start: ~p", [erlang:memory()]),
    ok = fresh_start([], Config),
    {ok, _} = py:call(?FIX, identity, [1]),
    #{os_pid := _} = py:stats(),
    Ref = monitor(process, whereis(py_coordinator)),
    {error, {port_exit, {status, 3}}} = py:call(?FIX, exit_now, [3]),
    receive {'DOWN', Ref, process, _, _} -> ok after 5000 -> ct:fail(warm_up_crash) end,
    {ok, _} = py:call(?FIX, identity, [1]),
    ok = stop_app(),
    [{atom_count, erlang:system_info(atom_count)} | Config].

end_per_suite(Config) ->
    ok = stop_app(),
    Before = ?config(atom_count, Config),
    After = erlang:system_info(atom_count),
    ct:pal("atom_count: ~p before the cases, ~p after (~p new: ~p)",
           [Before, After, After - Before, atoms_since(Before)]),
    case After - Before of
        0 -> ok;
        Grown -> ct:fail({atom_table_grew, Grown})
    end.

init_per_testcase(Case, Config) ->
    ok = fresh_start(settings(Case), Config),
    [ok = py:register_function(Name, ?MODULE, Name) || Name <- [crash_gate, park, hold, echo]],
    [{case_atoms, erlang:system_info(atom_count)} | Config].

end_per_testcase(_Case, Config) ->
    _ = logger:remove_handler(?OUTPUT_HANDLER),
    [logger:remove_handler_filter(Id, ?OUTPUT_HANDLER) || Id <- logger:get_handler_ids()],
    ok = stop_app(),
    Before = ?config(case_atoms, Config),
    ct:pal("atom_count during the case: ~p new: ~p",
           [erlang:system_info(atom_count) - Before, atoms_since(Before)]),
    ok.

%% Application settings per case; everything else keeps the .app default.
settings(call_blocked_in_c_is_killed_after_grace) -> [{cancel_grace, 500}];
settings(busy_port_does_not_stall_the_coordinator) -> [{cancel_grace, 500}];
settings(blast_radius_of_a_stuck_call) -> [{cancel_grace, 500}];
settings(blast_radius_of_a_stuck_call_in_a_pool_of_2) -> [{cancel_grace, 500}];
settings(overload_beyond_max_pending_is_refused) -> [{max_pending, 50}];
settings(memory_limit_gives_memory_error) -> [{max_memory, 1024 * ?MiB}];
settings(cpu_limit_kills_and_restarts_port) -> [{max_cpu_seconds, 1}];
%% Above the primary level (notice), so that the lines reach the handlers.
settings(print_flood_keeps_protocol_and_reaches_logger) -> [{stdout_level, notice}];
settings(_) -> [].

%% Erlang functions called from Python.

%% The crash thread waits here until the test says go.
crash_gate([Test]) ->
    Test ! {crash_gate, self()},
    receive go -> ok end.

%% Never returns: the test kills this handler process.
park([Test]) ->
    Test ! {parked, self()},
    receive after infinity -> ok end.

%% Keeps a request pending until the test releases it.
hold([Test, I]) ->
    Test ! {held, I, self()},
    receive release -> {released, I} end.

echo([Term]) -> Term.

%% Port death, while 1,000 calls are in flight.

os_exit_answers_every_caller_in_flight(_Config) ->
    crash_with_calls_in_flight(<<"exit">>, {status, 3}).

segfault_answers_every_caller_in_flight(_Config) ->
    crash_with_calls_in_flight(<<"segfault">>, {signal, 11}).

sigkill_answers_every_caller_in_flight(_Config) ->
    crash_with_calls_in_flight(<<"sigkill">>, {signal, 9}).

%% 100 client processes, each with 10 calls in flight (a py:call blocks, so
%% each client runs its 10 through short-lived helpers). The calls sleep 2 s
%% in Python, so at the crash most are queued in the port and 8 are
%% running. The crash comes from a Python thread of the fixture, released
%% by the test once all 1,000 calls are pending.
crash_with_calls_in_flight(Kind, How) ->
    Total = ?CLIENTS * ?CALLS_PER_CLIENT,
    P0 = os_pid(),
    {ok, <<"armed">>} = py:call(?FIX, arm_crash, [Kind, self()]),
    Gate = receive {crash_gate, G} -> G after 5000 -> ct:fail(crash_thread_not_waiting) end,
    Test = self(),
    [spawn_link(fun() -> client(Test, C) end) || C <- lists:seq(1, ?CLIENTS)],
    wait_for({calls_in_flight, Total},
             fun() ->
                     case coordinator_stats() of
                         #{pending_calls := N} = S when N >= Total -> {true, S};
                         S -> {false, S}
                     end
             end, 10000),
    GateMon = monitor(process, Gate),
    Crash = now_us(),
    Gate ! go,
    Answers = collect_client_answers(?CLIENTS, Crash + 10000000, []),
    Total = length(Answers),
    LastAnswer = lists:max([T || {_, _, T} <- Answers]),
    Next = py:call(?FIX, os_pid, []),
    Recovered = now_us(),
    Bad = [{Tag, R} || {Tag, R, _} <- Answers, not answer_ok(Tag, R, How)],
    Oks = length([ok || {_, {ok, _}, _} <- Answers]),
    Exits = length([ok || {_, {error, {port_exit, _}}, _} <- Answers]),
    ct:pal("~s: ~p calls from ~p processes answered: ~p {ok, _}, ~p {port_exit, ~p}, "
           "~p other; last answer ~.1f ms after the crash was triggered; "
           "next call ~p ~.1f ms after it (time to recover)",
           [Kind, Total, ?CLIENTS, Oks, Exits, How, length(Bad),
            ms(LastAnswer - Crash), Next, ms(Recovered - Crash)]),
    [] = Bad,
    true = ms(LastAnswer - Crash) < 1000,
    {ok, P1} = Next,
    true = P1 =/= P0,
    %% The dead port's handler processes exit with it.
    receive {'DOWN', GateMon, process, _, _} -> ok
    after 2000 -> ct:fail(handler_of_dead_port_alive)
    end.

client(Test, C) ->
    Self = self(),
    Tags = [C * 100 + J || J <- lists:seq(1, ?CALLS_PER_CLIENT)],
    [spawn_link(fun() ->
                    R = py:call(?FIX, slow, [2000, Tag], #{}, 30000),
                    Self ! {answer, Tag, R, now_us()}
                end) || Tag <- Tags],
    Answers = [receive {answer, Tag, R, T} -> {Tag, R, T} end || Tag <- Tags],
    Test ! {client_answers, C, Answers}.

collect_client_answers(0, _Deadline, Acc) ->
    Acc;
collect_client_answers(N, Deadline, Acc) ->
    Left = max(0, (Deadline - now_us()) div 1000),
    receive
        {client_answers, _C, Answers} -> collect_client_answers(N - 1, Deadline, Answers ++ Acc)
    after Left ->
        ct:fail({callers_not_answered, N * ?CALLS_PER_CLIENT, answered, length(Acc)})
    end.

answer_ok(Tag, {ok, Tag}, _How) -> true;
answer_ok(_Tag, {error, {port_exit, How}}, How) -> true;
answer_ok(_, _, _) -> false.

%% Not on the issue's acceptance list, but in its "Port death" item: calls
%% that keep arriving while the port dies. 50 processes call in a loop, each
%% call carrying 256 KiB (so writes to the port are under way when it dies),
%% until they are served by the new port. Each answer must be a value, the
%% exit signal, or `port_closed' (documented: the port closed while the
%% request was being sent); a reason that names neither status nor signal
%% breaks the documented `{port_exit, {status | signal, N}}' form.
calls_racing_a_crash_wait_or_get_its_signal(_Config) ->
    P0 = os_pid(),
    {ok, <<"armed">>} = py:call(?FIX, arm_crash, [<<"sigkill">>, self()]),
    Gate = receive {crash_gate, G} -> G after 5000 -> ct:fail(crash_thread_not_waiting) end,
    Test = self(),
    Loopers = [spawn_link(fun() -> Test ! {looped, self(), race_loop(P0, 0, [])} end)
               || _ <- lists:seq(1, 50)],
    Crash = now_us(),
    Gate ! go,
    Results = [receive {looped, L, R} -> R
               after 10000 -> ct:fail({looper_stuck, L})
               end || L <- Loopers],
    Done = now_us(),
    Calls = lists:sum([N || {N, _} <- Results]),
    Timed = lists:append([E || {_, E} <- Results]),
    Errors = [E || {E, _} <- Timed],
    Counts = count_terms(Errors),
    Window = fun(Error) ->
                     case [T || {E, T} <- Timed, E =:= Error] of
                         [] -> none;
                         Ts -> {ms(lists:min(Ts) - Crash), ms(lists:max(Ts) - Crash)}
                     end
             end,
    ct:pal("~p calls from 50 processes across a SIGKILL, all served by the new port "
           "~.1f ms after the crash; errors: ~p; port_closed from ~p ms after the crash",
           [Calls, ms(Done - Crash), Counts, Window({error, port_closed})]),
    %% {port_exit, epipe}: a caller's write hit the dead process first; the
    %% port is then closed with that reason and its exit status is lost
    %% (documented in py.erl and the README). Any other reason is a bug.
    [] = [E || E <- Errors,
               E =/= {error, {port_exit, {signal, 9}}},
               E =/= {error, {port_exit, epipe}},
               E =/= {error, port_closed}].

%% Calls until the new port answers; returns {Calls, [{Error, When}]}.
race_loop(P0, N, Errors) ->
    Size = 256 * 1024,
    case py:call(?FIX, os_pid_and_size, [binary:copy(<<"x">>, Size)], #{}, 10000) of
        {ok, {P0, Size}} -> race_loop(P0, N + 1, Errors);
        {ok, {_New, Size}} -> {N + 1, lists:reverse(Errors)};
        Error -> race_loop(P0, N + 1, [{Error, now_us()} | Errors])
    end.

%% Timeouts that interrupt.

busy_loop_is_interrupted_by_timeout(_Config) ->
    interrupted_by_timeout(spin).

sleep_is_interrupted_by_timeout(_Config) ->
    interrupted_by_timeout(sleep_long).

%% The caller gets `timeout' at once; the port interrupts the Python code,
%% whose TimeoutError reply then arrives and is dropped as a late reply.
%% That reply is the proof it was interrupted: a request that is not
%% answered within cancel_grace kills the port instead, and the coordinator
%% with it (its counters would start again from 0).
interrupted_by_timeout(Function) ->
    P0 = os_pid(),
    #{late_replies := Late0} = py_coordinator:stats(),
    Start = now_us(),
    Result = py:call(?FIX, Function, [], #{}, 100),
    Answered = now_us(),
    {error, timeout} = Result,
    Stats = wait_for(interrupted_request_answers,
                     fun() ->
                             case coordinator_stats() of
                                 #{cancelling := 0, late_replies := L} = S when L > Late0 ->
                                     {true, S};
                                 S ->
                                     {false, S}
                             end
                     end, 5000),
    Stopped = now_us(),
    Next = py:call(?FIX, os_pid, []),
    #{os_pid := StatsPid} = py:stats(),
    ct:pal("~p with a 100 ms timeout: ~p after ~.1f ms; the Python code stopped "
           "~.1f ms after the call began (late replies ~p, cancelled ~p); "
           "next call ~p, os pid before ~p",
           [Function, Result, ms(Answered - Start), ms(Stopped - Start),
            maps:get(late_replies, Stats), maps:get(cancelled, Stats), Next, P0]),
    true = ms(Answered - Start) < 150,
    {ok, P0} = Next,
    P0 = StatsPid.

%% select.select() holds no GIL and never looks at asynchronous exceptions;
%% the port's interrupt signal makes it fail with EINTR, but CPython retries
%% it (PEP 475): after cancel_grace (500 ms here) the port is killed and
%% restarted. (Until the interrupt signal, this case used libc sleep(30);
%% that one is now freed without a kill: blast_radius_of_a_stuck_call.)
call_blocked_in_c_is_killed_after_grace(_Config) ->
    Grace = 500,
    P0 = os_pid(),
    Mon = monitor(process, whereis(py_coordinator)),
    Start = now_us(),
    Result = py:call(?FIX, c_block, [30], #{}, 100),
    TimedOut = now_us(),
    {error, timeout} = Result,
    Reason = receive {'DOWN', Mon, process, _, R} -> R
             after 5000 -> ct:fail(blocked_port_not_killed)
             end,
    Killed = now_us(),
    Next = py:call(?FIX, os_pid, []),
    Recovered = now_us(),
    ct:pal("select.select() for 30 s with a 100 ms timeout: ~p after ~.1f ms; port killed ~.1f ms "
           "after the timeout (cancel_grace ~p ms), coordinator exit ~p; next call ~p "
           "~.1f ms after the kill (os pid before ~p)",
           [Result, ms(TimedOut - Start), ms(Killed - TimedOut), Grace, Reason, Next,
            ms(Recovered - Killed), P0]),
    true = ms(TimedOut - Start) < 150,
    {port_exit, {signal, 9}} = Reason,
    true = ms(Killed - TimedOut) >= Grace,
    true = ms(Killed - TimedOut) < Grace + 1000,
    {ok, P1} = Next,
    true = P1 =/= P0,
    gone = wait_for({old_port_process_gone, P0},
                    fun() -> case proc_state(P0) of gone -> {true, gone}; S -> {false, S} end end,
                    2000).

%% Found by the chaos soak (tests/soak): a cancel written to a busy port
%% (its input queue full) suspended the coordinator in port_command, and
%% while it was suspended no reply reached any caller (~5 s stalls). Here
%% the port is stopped (SIGSTOP) so it reads nothing, one 4 MiB request
%% fills the pipe and makes the port busy, and a request sent before then
%% times out: the coordinator must keep answering while its cancel waits,
%% and kill the port after cancel_grace as for any request that does not stop.
busy_port_does_not_stall_the_coordinator(_Config) ->
    Grace = 500,
    P0 = os_pid(),
    #py_port{port = Port} = persistent_term:get(?PY_PORT_KEY),
    Mon = monitor(process, whereis(py_coordinator)),
    Test = self(),
    spawn_link(fun() -> Test ! {timed_out, py:call(?FIX, slow, [30000, 0], #{}, 1000)} end),
    wait_for(request_pending,
             fun() -> case coordinator_stats() of
                          #{pending_calls := 1} = S -> {true, S};
                          S -> {false, S}
                      end
             end, 5000),
    Queued = stop_and_fill(P0, Port),
    {error, timeout} = receive {timed_out, R} -> R after 5000 -> ct:fail(no_timeout) end,
    Cancelled = now_us(),
    %% The coordinator has the cancel to send now; it must still answer.
    Stats = try gen_server:call(py_coordinator, stats, 1000)
            catch exit:{timeout, _} -> ct:fail(coordinator_suspended_on_busy_port)
            end,
    Answered = now_us(),
    Reason = receive {'DOWN', Mon, process, _, Why} -> Why
             after Grace + 5000 -> ct:fail(stopped_port_not_killed)
             end,
    Killed = now_us(),
    ct:pal("port stopped and busy (queue ~p bytes): the coordinator answered ~.1f ms after "
           "the cancel (cancelling ~p); port killed ~.1f ms after it: ~p",
           [Queued, ms(Answered - Cancelled),
            maps:get(cancelling, Stats), ms(Killed - Cancelled), Reason]),
    %% epipe: the queued request's write hits the killed process first
    %% (documented in the README; the signal is then lost).
    true = lists:member(Reason, [{port_exit, {signal, 9}}, {port_exit, epipe}]),
    true = ms(Killed - Cancelled) >= Grace,
    {ok, P1} = py:call(?FIX, os_pid, []),
    true = P1 =/= P0.

%% Found by the chaos soak too: a caller writing its request to a busy port
%% was suspended in port_command, where its timeout cannot fire. The port
%% is stopped and made busy as above; a call with a 200 ms timeout must
%% return {error, timeout} in time. Then the port runs again and serves the
%% next call (the request written late is answered, or cancelled, within
%% cancel_grace: no kill).
busy_port_does_not_hold_a_caller_past_its_timeout(_Config) ->
    P0 = os_pid(),
    #py_port{port = Port} = persistent_term:get(?PY_PORT_KEY),
    Queued = stop_and_fill(P0, Port),
    Start = now_us(),
    Result = py:call(?FIX, os_pid, [], #{}, 200),
    Answered = now_us(),
    "" = os:cmd("kill -CONT " ++ integer_to_list(P0)),
    Next = py:call(?FIX, os_pid, []),
    ct:pal("port stopped and busy (queue ~p bytes): a call with a 200 ms timeout returned ~p "
           "after ~.1f ms; after SIGCONT the next call: ~p (os pid before ~p)",
           [Queued, Result, ms(Answered - Start), Next, P0]),
    {error, timeout} = Result,
    true = ms(Answered - Start) < 700,
    {ok, P0} = Next.

%% Stops the port process (SIGSTOP) and sends a 4 MiB request that it
%% cannot read: returns the bytes queued once the port is busy (over 8 KiB).
stop_and_fill(OsPid, Port) ->
    "" = os:cmd("kill -STOP " ++ integer_to_list(OsPid)),
    Big = binary:copy(<<"x">>, 4 * ?MiB),
    spawn(fun() -> py:call(?FIX, identity, [Big], #{}, 60000) end),
    wait_for(port_busy,
             fun() -> case erlang:port_info(Port, queue_size) of
                          {queue_size, Q} when Q > 8192 -> {true, Q};
                          Other -> {false, Other}
                      end
             end, 5000).

%% The blast radius of a stuck call: 20 unrelated processes keep calling
%% (50 ms calls) while one call is stuck in C past its timeout. When the
%% port must be killed after cancel_grace, every call of theirs in flight at
%% the kill fails with {port_exit, _}; when the port's interrupt signal frees
%% the stuck thread, none does. Figures for docs/faults.md via ct:pal. Which
%% calls need the kill is asserted: CPython's own blocking calls retry after
%% EINTR (PEP 475) outside the main thread, and a loop in C makes no system
%% call to interrupt; a C function that returns on EINTR (libc sleep through
%% ctypes) and the port's own time.sleep are freed.
blast_radius_of_a_stuck_call(_Config) ->
    Cases = [{time_sleep, sleep_long, []},
             {ctypes_libc_sleep, libc_sleep, [30]},
             {select_select, c_block, [30]},
             {socket_recv, socket_recv_block, [30]},
             {c_loop, c_loop, [100000000000]}],
    Results = [{Name, blast(Function, Args)} || {Name, Function, Args} <- Cases],
    [ct:pal("stuck call ~p: port killed: ~p; unrelated callers that got an error: ~p of 20; "
            "their calls ~p, failed ~p ~p",
            [Name, Killed, Hit, Calls, length(Failed), count_terms(Failed)])
     || {Name, {Killed, Hit, Calls, Failed}} <- Results],
    Expected = #{time_sleep => false, ctypes_libc_sleep => false,
                 select_select => true, socket_recv => true, c_loop => true},
    [{Name, Killed} = {Name, maps:get(Name, Expected)} || {Name, {Killed, _, _, _}} <- Results],
    [{Name, []} = {Name, Failed} || {Name, {false, _, _, Failed}} <- Results],
    ok.

blast(Function, Args) ->
    %% The fixture imported first: a cancel that lands while a thread is
    %% still importing it breaks that import for every thread waiting on it
    %% (they get the half-built module; a separate bug, see docs/faults.md).
    {ok, _} = py:call(?FIX, os_pid, []),
    Mon = monitor(process, whereis(py_coordinator)),
    Test = self(),
    Loopers = [spawn_link(fun() -> blast_loop(Test, I, 0, []) end) || I <- lists:seq(1, 20)],
    {error, timeout} = py:call(?FIX, Function, Args, #{}, 100),
    %% Killed (a 'DOWN' of the coordinator) within cancel_grace and a margin,
    %% or the stuck request answered (nothing left cancelling).
    Killed = receive
                 {'DOWN', Mon, process, _, _} -> true
             after 2500 ->
                 demonitor(Mon, [flush]),
                 #{cancelling := 0} = coordinator_stats(),
                 false
             end,
    [L ! stop || L <- Loopers],
    Outcomes = [receive {looped, L, O} -> O after 15000 -> ct:fail({looper_stuck, L}) end
                || L <- Loopers],
    {ok, _} = py:call(?FIX, os_pid, []),
    {Killed, length([F || {_, F} <- Outcomes, F =/= []]),
     lists:sum([N || {N, _} <- Outcomes]), lists:append([F || {_, F} <- Outcomes])}.

%% The stuck call that only the kill ends (select.select) on member 1 of a
%% pool of 2, while 10 processes call member 1 through a context, 10 call
%% member 2 the same way, and 10 call the pool (least-loaded routing). Only
%% member 1 is killed and restarted; member 2's callers see no error; how
%% many routed callers are hit is printed.
blast_radius_of_a_stuck_call_in_a_pool_of_2(_Config) ->
    {ok, _} = py:start_pool(p_blast, #{size => 2}),
    [M1, M2] = [py:context({p_blast, I}) || I <- [1, 2]],
    {ok, Pid1} = py:call(M1, ?FIX, os_pid, []),
    {ok, Pid2} = py:call(M2, ?FIX, os_pid, []),
    Test = self(),
    Call = fun(Target, I) -> py:call(Target, ?FIX, slow, [50, I], #{}, 10000) end,
    Groups = [{Name, [spawn_link(fun() -> blast_loop(Test, I, 0, [], fun(J) -> Call(Target, J) end)
                                 end) || I <- lists:seq(1, 10)]}
              || {Name, Target} <- [{member_1, M1}, {member_2, M2}, {routed, p_blast}]],
    {error, timeout} = py:call(M1, ?FIX, c_block, [30], #{}, 100),
    %% Killed after cancel_grace (500 ms): member 1 answers from a new process.
    NewPid1 = wait_for(
                member_1_restarted,
                fun() ->
                        case py:call(M1, ?FIX, os_pid, [], #{}, 1000) of
                            {ok, P} when P =/= Pid1 -> {true, P};
                            Other -> {false, Other}
                        end
                end, 10000),
    [L ! stop || {_, Ls} <- Groups, L <- Ls],
    Outcomes = [{Name, [receive {looped, L, O} -> O after 15000 -> ct:fail({looper_stuck, L}) end
                        || L <- Ls]} || {Name, Ls} <- Groups],
    Summary = [{Name, length([F || {_, F} <- Os, F =/= []]), lists:sum([N || {N, _} <- Os]),
                count_terms(lists:append([F || {_, F} <- Os]))} || {Name, Os} <- Outcomes],
    [ct:pal("pool of 2, stuck call on member 1 (killed after cancel_grace): ~p callers: "
            "~p of 10 got an error; their calls ~p, errors ~p", [Name, Hit, Calls, Errors])
     || {Name, Hit, Calls, Errors} <- Summary],
    {member_2, 0, _, Clean} = lists:keyfind(member_2, 1, Summary),
    0 = map_size(Clean),
    {ok, Pid2} = py:call(M2, ?FIX, os_pid, []),
    #{pools := #{p_blast := #{members := Members}}} = py:stats(),
    [#{index := 1, restarts := 1, os_pid := NewPid1}, #{index := 2, restarts := 0, os_pid := Pid2}] =
        lists:sort(Members),
    ok = py:stop_pool(p_blast).

%% Found by the chaos soak: a caller that found a pool's member restarting
%% asked the pool's supervisor for the member's process, and a supervisor
%% that is stopping the member (which lets its calls in flight finish, up to
%% stop_grace) answers only once it has stopped: the caller waited 1 s past
%% its timeout there. Here the member is stopped with a 3 s call in flight,
%% and a new call with a 200 ms timeout must end within its timeout (+1 s,
%% the soak's bound), not when the stop is done.
caller_timeout_holds_while_a_member_stops(_Config) ->
    {ok, _} = py:start_pool(p_stop, #{size => 1}),
    {ok, _} = py:call(p_stop, ?FIX, os_pid, [], #{}, 5000),
    {ok, #{sup := Sup}} = py_pool:settings(p_stop),
    Test = self(),
    InFlight = spawn_link(fun() -> Test ! {in_flight, py:call(p_stop, ?FIX, slow, [3000, 1])} end),
    wait_for(in_flight, fun() -> N = member_pending(p_stop), {N >= 1, N} end, 5000),
    Stopper = spawn_link(fun() -> Test ! {stopped, supervisor:terminate_child(Sup, {member, 1})} end),
    wait_for(unpublished,
                              fun() -> R = py_pool:member(p_stop, 1), {R =:= {error, restarting}, R} end,
                              5000),
    {Us, Result} = timer:tc(fun() -> py:call(p_stop, ?FIX, os_pid, [], #{}, 200) end),
    ct:pal("a call with a 200 ms timeout while the member stops: ~p after ~p ms", [Result, Us div 1000]),
    {error, timeout} = Result,
    true = Us div 1000 < 1200,
    receive {in_flight, {ok, 1}} -> ok after 10000 -> ct:fail({in_flight_not_answered, InFlight}) end,
    receive {stopped, ok} -> ok after 10000 -> ct:fail({member_not_stopped, Stopper}) end,
    ok = py:stop_pool(p_stop).

member_pending(Pool) ->
    #{pools := #{Pool := #{members := [#{pending := N}]}}} = py:stats(),
    N.

blast_loop(Test, I, N, Failed) ->
    blast_loop(Test, I, N, Failed, fun(J) -> py:call(?FIX, slow, [50, J], #{}, 10000) end).

blast_loop(Test, I, N, Failed, Call) ->
    receive
        stop -> Test ! {looped, self(), {N, Failed}}
    after 0 ->
        case Call(I) of
            {ok, I} -> blast_loop(Test, I, N + 1, Failed, Call);
            Error -> blast_loop(Test, I, N + 1, [Error | Failed], Call)
        end
    end.

%% Caller death.

%% 10,000 processes call a fixture that sleeps 10 s (time.sleep: it can be
%% interrupted), are all pending, and are killed. The coordinator's sweep
%% (once a second) cancels their requests; the port answers each at once, so
%% the entries go. Nothing is stuck in C code, so the port must not be
%% killed: the coordinator stays up and the same OS process serves the next
%% call. Two rounds: the first may grow allocators; the second must not grow
%% memory much further. Where a per-caller leak of ours would sit is measured
%% exactly: the coordinator's memory (its maps of handlers and grace timers)
%% and the pending table's. The VM's total is a coarser check: 10,000 killed
%% processes are reclaimed late, which moves it by up to about 6 MiB between
%% rounds (a per-call leak of 1 KiB would add 10 MiB).
dead_callers_leave_no_pending_entries(_Config) ->
    P0 = os_pid(),
    Mon = monitor(process, whereis(py_coordinator)),
    {M0, R0} = memory_now(P0),
    Ours0 = our_memory(),
    {Drain1, Spawn1} = kill_callers_mid_call(?DEAD_CALLERS, Mon, P0),
    {M1, R1} = memory_now(P0),
    Ours1 = our_memory(),
    {Drain2, Spawn2} = kill_callers_mid_call(?DEAD_CALLERS, Mon, P0),
    {M2, R2} = memory_now(P0),
    Ours2 = our_memory(),
    Next = py:call(?FIX, os_pid, []),
    ct:pal("~p callers killed mid-call, twice: all pending after ~.1f / ~.1f ms, "
           "pending entries back to 0 ~.1f / ~.1f ms after the kill; "
           "erlang:memory(total) ~.1f -> ~.1f -> ~.1f MiB; port VmRSS ~.1f -> ~.1f -> ~.1f MiB; "
           "{coordinator, pending table} bytes ~p -> ~p -> ~p; "
           "next call ~p (os pid before ~p)",
           [?DEAD_CALLERS, Spawn1, Spawn2, Drain1, Drain2,
            M0 / ?MiB, M1 / ?MiB, M2 / ?MiB, R0 / 1024, R1 / 1024, R2 / 1024,
            Ours0, Ours1, Ours2, Next, P0]),
    {ok, P0} = Next,
    {Coordinator0, Table0} = Ours0,
    [true = C - Coordinator0 < 64 * 1024 andalso T - Table0 < 64 * 1024 || {C, T} <- [Ours1, Ours2]],
    true = M1 - M0 < 32 * ?MiB,
    true = M2 - M1 < 8 * ?MiB,
    true = (R1 - R0) * 1024 < 128 * ?MiB,
    true = (R2 - R1) * 1024 < 8 * ?MiB.

kill_callers_mid_call(N, Mon, OsPid) ->
    Start = now_us(),
    Callers = [spawn(fun() -> py:call(?FIX, slow, [10000, I], #{}, infinity) end)
               || I <- lists:seq(1, N)],
    wait_for({callers_in_flight, N},
             fun() ->
                     case coordinator_stats() of
                         #{pending_calls := P} = S when P >= N -> {true, S};
                         S -> {false, S}
                     end
             end, 20000),
    InFlight = now_us(),
    [exit(P, kill) || P <- Callers],
    Killed = now_us(),
    wait_for(pending_entries_gone,
             fun() ->
                     receive
                         {'DOWN', Mon, process, _, Reason} ->
                             ct:fail({port_restarted_while_cancelling_dead_callers, Reason})
                     after 0 ->
                         case coordinator_stats() of
                             #{pending_calls := 0, cancelling := 0} = S -> {true, S};
                             S -> {false, {S, {port_process, OsPid, proc_state(OsPid)}}}
                         end
                     end
             end, 15000),
    {ms(now_us() - Killed), ms(InFlight - Start)}.

memory_now(OsPid) ->
    [erlang:garbage_collect(P) || P <- processes()],
    {erlang:memory(total), rss_kb(OsPid)}.

%% Bytes of the coordinator process (after a collection) and of its pending table.
our_memory() ->
    Coordinator = whereis(py_coordinator),
    true = erlang:garbage_collect(Coordinator),
    {memory, Bytes} = erlang:process_info(Coordinator, memory),
    #py_port{pending = Pending} = persistent_term:get(?PY_PORT_KEY),
    {Bytes, ets:info(Pending, memory) * erlang:system_info(wordsize)}.

%% Output capture.

%% One call print()s 10 MiB (10240 lines of 1024 bytes, each numbered)
%% while 4 processes keep calling the fixture's `identity' with values of
%% their own, until every byte of the flood is accounted for in the logger.
%%
%% What is asserted: every call made meanwhile got its own value back; the
%% flood call returned the byte count; and the bytes of the stdout lines that
%% reached the logger plus the bytes py_output reported as dropped (it sheds
%% chunks past a backlog and logs "N bytes of output dropped") equal the
%% 10 MiB exactly. When nothing was dropped, every line arrived intact and
%% in order. Two marker lines after the flood flush the accounting: a drop
%% before the first is reported right after it, so before the second.
print_flood_keeps_protocol_and_reaches_logger(_Config) ->
    Total = ?FLOOD_LINES * ?FLOOD_WIDTH,
    OsPid = os_pid(),
    ok = logger:add_handler(?OUTPUT_HANDLER, ?MODULE,
                            #{level => all, config => #{test => self(), os_pid => OsPid}}),
    [ok = logger:add_handler_filter(Id, ?OUTPUT_HANDLER, {fun ?MODULE:drop_python_output/2, []})
     || Id <- logger:get_handler_ids(), Id =/= ?OUTPUT_HANDLER],
    Test = self(),
    Callers = [spawn_link(fun() -> Test ! {echoed, self(), echo_loop(C, 0, 0.0, [])} end)
               || C <- lists:seq(1, 4)],
    Start = now_us(),
    Flood = py:call(?FIX, flood, [<<"flood">>, ?FLOOD_LINES, ?FLOOD_WIDTH], #{}, 60000),
    Returned = now_us(),
    {ok, Total} = Flood,
    Marker1 = <<"end-of-flood-1">>,
    {ok, _} = py:call(?FIX, say, [Marker1]),
    {Lines1, Dropped1} = collect_output(Marker1, Start + 60000000, [], 0),
    Marker2 = <<"end-of-flood-2">>,
    {ok, _} = py:call(?FIX, say, [Marker2]),
    {Lines2, Dropped2} = collect_output(Marker2, Start + 60000000, [], 0),
    Logged = now_us(),
    [Caller ! stop || Caller <- Callers],
    Echoes = [receive {echoed, Caller, E} -> E
              after 10000 -> ct:fail({caller_stuck, Caller})
              end || Caller <- Callers],
    %% Lines2 holds only the second marker, unless a drop joined output to it.
    FloodLines = Lines1 ++ Lines2,
    Markers = byte_size(Marker1) + 1 + byte_size(Marker2) + 1,
    Received = lists:sum([byte_size(L) + 1 || L <- FloodLines]) - Markers,
    Dropped = Dropped1 + Dropped2,
    Expected = [flood_line(I) || I <- lists:seq(0, ?FLOOD_LINES - 1)],
    Intact = length([L || L <- FloodLines, is_flood_line(L)]),
    EchoCalls = lists:sum([N || {N, _, _} <- Echoes]),
    EchoBad = lists:append([B || {_, _, B} <- Echoes]),
    MaxEcho = lists:max([M || {_, M, _} <- Echoes]),
    ct:pal("flood of ~p bytes: print() call took ~.1f ms; all output accounted for ~.1f ms "
           "after the start: ~p lines (~p intact flood lines), ~p bytes received + ~p bytes "
           "reported dropped; ~p echo calls meanwhile from 4 processes, slowest ~.1f ms, "
           "~p wrong",
           [Total, ms(Returned - Start), ms(Logged - Start), length(FloodLines), Intact,
            Received, Dropped, EchoCalls, MaxEcho, length(EchoBad)]),
    [] = EchoBad,
    true = EchoCalls >= 4,
    Total = Received + Dropped,
    true = Intact > 0,
    case Dropped of
        0 -> Expected = lists:droplast(lists:droplast(FloodLines));
        _ -> ok
    end.

%% Calls identity with values of its own until told to stop; returns
%% {Calls, SlowestMs, WrongAnswers}.
echo_loop(C, N, Slowest, Bad) ->
    receive
        stop -> {N, Slowest, Bad}
    after 0 ->
        Value = {C, N, <<"value">>},
        T0 = now_us(),
        R = py:call(?FIX, identity, [Value]),
        Took = ms(now_us() - T0),
        Bad1 = case R of {ok, Value} -> Bad; _ -> [{Value, R} | Bad] end,
        echo_loop(C, N + 1, max(Slowest, Took), Bad1)
    end.

flood_line(I) ->
    Head = iolist_to_binary(io_lib:format("flood ~p ", [I])),
    <<Head/binary, (binary:copy(<<"x">>, ?FLOOD_WIDTH - 1 - byte_size(Head)))/binary>>.

is_flood_line(<<"flood ", _/binary>> = L) ->
    byte_size(L) =:= ?FLOOD_WIDTH - 1 andalso
        begin
            [_, Index | _] = binary:split(L, <<" ">>, [global]),
            try flood_line(binary_to_integer(Index)) =:= L catch error:badarg -> false end
        end;
is_flood_line(_) ->
    false.

%% Stdout lines (in order) up to and including the one ending in Marker,
%% and the dropped bytes reported meanwhile.
collect_output(Marker, Deadline, Lines, Dropped) ->
    Left = max(0, (Deadline - now_us()) div 1000),
    receive
        {py_output_line, Line} ->
            case binary:longest_common_suffix([Line, Marker]) =:= byte_size(Marker) of
                true -> {lists:reverse([Line | Lines]), Dropped};
                false -> collect_output(Marker, Deadline, [Line | Lines], Dropped)
            end;
        {py_output_dropped, Bytes} ->
            collect_output(Marker, Deadline, Lines, Dropped + Bytes)
    after Left ->
        ct:fail({output_not_logged, Marker, lines, length(Lines), dropped, Dropped})
    end.

%% logger handler: Python's stdout lines and drop reports of the port under test.
log(#{level := notice, msg := {_, [OsPid, stdout, Line]},
      meta := #{erlang_python := output, stream := stdout}},
    #{config := #{test := Test, os_pid := OsPid}}) ->
    Test ! {py_output_line, iolist_to_binary(Line)};
log(#{level := warning, msg := {_, [OsPid, Bytes]}, meta := #{erlang_python := output}},
    #{config := #{test := Test, os_pid := OsPid}}) when is_integer(Bytes) ->
    Test ! {py_output_dropped, Bytes};
log(_Event, _Config) ->
    ok.

drop_python_output(#{meta := #{erlang_python := output}}, _) -> stop;
drop_python_output(_Event, _) -> ignore.

%% No orphans.

%% A peer node (no distribution: its control connection is its stdio)
%% starts the application; its BEAM is killed with SIGKILL. The port sees
%% stdin close, and PR_SET_PDEATHSIG fires when its parent (the peer's
%% erl_child_setup) dies. "Gone" is: no /proc entry, or a zombie (it has
%% exited; PID 1 of this machine does not reap orphans).
killed_beam_takes_its_port_along(_Config) ->
    Boot = now_us(),
    {ok, Peer, _Node} = peer:start(#{connection => standard_io}),
    try
        Booted = now_us(),
        Ebin = filename:dirname(code:which(py)),
        ok = peer:call(Peer, code, add_pathsa, [[Ebin]]),
        {ok, _} = peer:call(Peer, application, ensure_all_started, [erlang_python], 30000),
        Started = now_us(),
        #{os_pid := PortPid} = peer:call(Peer, py, stats, []),
        BeamPid = peer:call(Peer, os, getpid, []),
        running = alive(proc_state(PortPid)),
        PeerMon = monitor(process, Peer),
        Kill = now_us(),
        _ = os:cmd("kill -9 " ++ BeamPid),
        State = wait_for({port_process_gone, PortPid},
                         fun() ->
                                 case proc_state(PortPid) of
                                     gone -> {true, gone};
                                     $Z -> {true, zombie};
                                     S -> {false, S}
                                 end
                         end, 5000),
        Gone = ms(now_us() - Kill),
        ct:pal("peer booted in ~.1f ms, erlang_python started there in ~.1f ms; "
               "peer BEAM ~s killed with SIGKILL: its port process ~p ~p after ~.1f ms",
               [ms(Booted - Boot), ms(Started - Booted), BeamPid, PortPid, State, Gone]),
        true = Gone =< 1000,
        receive {'DOWN', PeerMon, process, _, _} -> ok
        after 5000 -> ct:fail(peer_control_process_alive)
        end
    after
        catch peer:stop(Peer)
    end.

alive(gone) -> gone;
alive($Z) -> zombie;
alive(_) -> running.

%% A thread waiting in erlang.call whose handler dies.

thread_waiting_on_killed_handler_raises(_Config) ->
    Test = self(),
    spawn_link(fun() ->
                   Test ! {thread_result, py:call(?FIX, call_from_thread, [<<"park">>, Test],
                                                  #{}, 10000)}
               end),
    Handler = receive {parked, H} -> H after 5000 -> ct:fail(thread_not_parked) end,
    Killed = now_us(),
    exit(Handler, kill),
    Result = receive {thread_result, R} -> R
             after 10000 -> ct:fail(thread_still_waiting)
             end,
    Raised = now_us(),
    Next = py:call(?FIX, call_from_thread, [<<"echo">>, 42]),
    ct:pal("handler killed: the waiting Python thread got ~p ~.1f ms later; "
           "next erlang.call from a thread: ~p", [Result, ms(Raised - Killed), Next]),
    {ok, {<<"raised">>, <<"ErlangError">>, Message}} = Result,
    {_, _} = binary:match(Message, <<"handler process">>),
    {ok, {<<"ok">>, 42}} = Next.

%% Overload.

%% max_pending = 50: 50 requests held in Erlang (8 run and wait in hold/1,
%% 42 are queued in the port) fill the table; 150 more callers are then
%% refused at once; the 50 complete when released.
overload_beyond_max_pending_is_refused(_Config) ->
    Max = 50, Extra = 150,
    Test = self(),
    Holders = [spawn_link(fun() ->
                              Test ! {holder_done, I, py:call(?FIX, call_erlang,
                                                              [<<"hold">>, Test, I],
                                                              #{}, 30000)}
                          end) || I <- lists:seq(1, Max)],
    wait_for({pending, Max},
             fun() ->
                     case coordinator_stats() of
                         #{pending_calls := Max} = S -> {true, S};
                         S -> {false, S}
                     end
             end, 10000),
    Start = now_us(),
    [spawn_link(fun() -> Test ! {extra_done, I, py:call(?FIX, identity, [I])} end)
     || I <- lists:seq(1, Extra)],
    ExtraResults = [receive {extra_done, I, R} -> R
                    after 5000 -> ct:fail({extra_caller_stuck, I})
                    end || I <- lists:seq(1, Extra)],
    Refused = now_us(),
    HeldResults = release_holders(Max, []),
    Next = py:call(?FIX, identity, [next]),
    Overloaded = length([R || R <- ExtraResults, R =:= {error, overloaded}]),
    ct:pal("max_pending ~p: ~p more callers answered in ~.1f ms, ~p with {error, overloaded}; "
           "the ~p held calls: ~p ok; next call ~p",
           [Max, Extra, ms(Refused - Start), Overloaded, length(Holders),
            length([ok || {ok, _} <- HeldResults]), Next]),
    Extra = Overloaded,
    Expected = [{ok, {released, I}} || I <- lists:seq(1, Max)],
    Expected = lists:sort(HeldResults),
    {ok, next} = Next.

%% Releases each held request as its Python call reaches hold/1.
release_holders(0, Acc) ->
    Acc;
release_holders(N, Acc) ->
    receive
        {held, _I, Handler} ->
            Handler ! release,
            release_holders(N, Acc);
        {holder_done, _I, R} ->
            release_holders(N - 1, [R | Acc])
    after 10000 ->
        ct:fail({held_calls_not_done, N})
    end.

%% Resource limits.

%% RLIMIT_AS of 1 GiB: a 2 GiB bytearray fails in Python as a MemoryError, a
%% clean error; the same process goes on serving (no restart).
memory_limit_gives_memory_error(_Config) ->
    P0 = os_pid(),
    Small = py:call(?FIX, allocate, [64 * ?MiB]),
    Start = now_us(),
    Big = py:call(?FIX, allocate, [2048 * ?MiB]),
    Took = now_us(),
    Next = py:call(?FIX, os_pid, []),
    ct:pal("max_memory 1 GiB: 64 MiB allocation ~p; 2 GiB allocation ~p after ~.1f ms; "
           "next call ~p (os pid before ~p); port VmSize at rest ~p kB",
           [Small, Big, ms(Took - Start), Next, P0, vm_size_kb(P0)]),
    {ok, 67108864} = Small,
    {error, {'MemoryError', _}} = Big,
    {ok, P0} = Next.

%% RLIMIT_CPU of 1 s and a 5 s busy loop: SIGXCPU (24) at the soft limit,
%% SIGKILL (9) at the hard one. The caller gets the signal; the port is
%% restarted; the next call waits for it and works.
cpu_limit_kills_and_restarts_port(_Config) ->
    P0 = os_pid(),
    Start = now_us(),
    Result = py:call(?FIX, burn_cpu, [5], #{}, 20000),
    Died = now_us(),
    Next = py:call(?FIX, os_pid, []),
    Recovered = now_us(),
    ct:pal("max_cpu_seconds 1, 5 s busy loop: ~p after ~.1f ms; next call ~p ~.1f ms later "
           "(os pid before ~p)",
           [Result, ms(Died - Start), Next, ms(Recovered - Died), P0]),
    {error, {port_exit, {signal, Signal}}} = Result,
    true = lists:member(Signal, [24, 9]),
    {ok, P1} = Next,
    true = P1 =/= P0.

%% Graceful stop.

%% 8 calls (one per executor) sleep 1 s in Python; application:stop while
%% they run lets them finish (stop_grace 5 s), then the port exits.
stop_lets_calls_in_flight_finish(_Config) ->
    P0 = os_pid(),
    Test = self(),
    N = 8,
    [spawn_link(fun() ->
                    R = py:call(?FIX, slow, [1000, I], #{}, 30000),
                    Test ! {stop_result, I, R, now_us()}
                end) || I <- lists:seq(1, N)],
    wait_for({pending, N},
             fun() ->
                     case coordinator_stats() of
                         #{pending_calls := N} = S -> {true, S};
                         S -> {false, S}
                     end
             end, 5000),
    Stop = now_us(),
    ok = application:stop(erlang_python),
    Stopped = now_us(),
    Results = [receive {stop_result, I, R, T} -> {R, T}
               after 5000 -> ct:fail({caller_not_answered, I})
               end || I <- lists:seq(1, N)],
    State = wait_for({port_process_gone, P0},
                     fun() ->
                             case proc_state(P0) of
                                 gone -> {true, gone};
                                 S -> {false, S}
                             end
                     end, 5000),
    Gone = now_us(),
    ct:pal("application:stop with ~p calls of 1 s in flight took ~.1f ms; answers ~p "
           "(~.1f..~.1f ms after the stop began); port process ~p ~p ~.1f ms after the stop",
           [N, ms(Stopped - Stop), [R || {R, _} <- Results],
            ms(lists:min([T || {_, T} <- Results]) - Stop),
            ms(lists:max([T || {_, T} <- Results]) - Stop), P0, State, ms(Gone - Stop)]),
    Expected = [{ok, I} || I <- lists:seq(1, N)],
    Expected = [R || {R, _} <- Results],
    %% They were still running when the stop began.
    true = lists:all(fun({_, T}) -> T > Stop end, Results),
    true = ms(Stopped - Stop) < 5000 + 2000.

%% Internal.

fresh_start(Settings, Config) ->
    ok = stop_app(),
    _ = application:unload(erlang_python),
    %% Loaded first: settings made before the load would be overwritten by
    %% the .app file's defaults; unloading resets the previous case's.
    ok = application:load(erlang_python),
    ok = application:set_env(erlang_python, python_path, [?config(data_dir, Config)]),
    [ok = application:set_env(erlang_python, Key, Value) || {Key, Value} <- Settings],
    {ok, _} = application:ensure_all_started(erlang_python),
    ok.

stop_app() ->
    case application:stop(erlang_python) of
        ok -> ok;
        {error, {not_started, erlang_python}} -> ok
    end.

os_pid() ->
    {ok, Pid} = py:call(?FIX, os_pid, []),
    Pid.

%% The coordinator's own counters (py:stats/0 would also ask the port, and
%% wait behind the requests queued there). The coordinator may be dead or
%% busy while the port restarts.
coordinator_stats() ->
    try py_coordinator:stats()
    catch exit:Reason -> {unavailable, Reason}
    end.

%% Polls Fun every 10 ms until it returns {true, Value}; fails at the deadline
%% with the last thing Fun saw.
wait_for(What, Fun, TimeoutMs) ->
    poll(What, Fun, erlang:monotonic_time(millisecond) + TimeoutMs).

poll(What, Fun, Deadline) ->
    case Fun() of
        {true, Value} ->
            Value;
        {false, Last} ->
            case erlang:monotonic_time(millisecond) >= Deadline of
                true -> ct:fail({timeout_waiting_for, What, Last});
                false -> timer:sleep(10), poll(What, Fun, Deadline)
            end
    end.

%% gone, or the state letter of /proc/Pid/stat ($R, $S, $Z, ...).
proc_state(Pid) ->
    case file:read_file("/proc/" ++ integer_to_list(Pid) ++ "/stat") of
        {ok, Stat} ->
            [_, <<State, _/binary>>] = string:split(Stat, <<") ">>, trailing),
            State;
        {error, _} ->
            gone
    end.

rss_kb(Pid) -> proc_status_kb(Pid, <<"VmRSS:">>).

vm_size_kb(Pid) -> proc_status_kb(Pid, <<"VmSize:">>).

proc_status_kb(Pid, Key) ->
    {ok, Status} = file:read_file("/proc/" ++ integer_to_list(Pid) ++ "/status"),
    [_, Rest] = binary:split(Status, Key),
    [Line | _] = binary:split(Rest, <<"\n">>),
    [Kb, <<"kB">>] = string:lexemes(Line, " \t"),
    binary_to_integer(Kb).

%% The atoms created since the table held Count: atoms are numbered in order
%% of creation, and the external format's internal atom reference (tag 75)
%% decodes an index. For the report only.
atoms_since(Count) ->
    try [binary_to_term(<<131, 75, I:24>>) || I <- lists:seq(Count, erlang:system_info(atom_count) - 1)]
    catch error:badarg -> unavailable
    end.

count_terms(Terms) ->
    lists:foldl(fun(T, Acc) -> maps:update_with(T, fun(N) -> N + 1 end, 1, Acc) end,
                #{}, Terms).

now_us() -> erlang:monotonic_time(microsecond).

ms(Us) -> Us / 1000.
