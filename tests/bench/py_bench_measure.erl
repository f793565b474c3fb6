%% @doc One benchmark round: the project against the raw floor (interleaved) and against the floor through py's path.
%%
%% Returns a flat map #{{Object, Field} => Number}; Object and Field are the
%% names of bench/results.json (and of details.json for the extra figures:
%% *_floor objects with no project counterpart). Project and floor figures
%% are taken in alternation (chunks of calls, repetitions, one caller count
%% at a time), so that other load on the machine weighs on both alike.
-module(py_bench_measure).

-export([run_round/1]).

%% Iteration counts, divided by EP_BENCH_SCALE (default 1) for quick runs.
-define(SMALL_CALLS, 100000).
-define(REVERSE_CALLS, 20000).
-define(FANOUT_CALLS, 10000).
-define(THROUGHPUT_MS, 1000).
-define(WARMUP_CALLS, 2000).
-define(CHUNKS, 10).          % small and reverse calls alternate in this many chunks
-define(FANOUT_THREADS, 8).
-define(CALLERS, [1, 8, 64]).
-define(LONG, 120000).
-define(IO_CALLERS, 200).
-define(STREAM_ITEMS, 100000).
-define(ASYNC_CALLS, 10000).    % async_concurrency: coroutines awaiting asyncio.sleep(1)  % stream_rate: items of range(N), window 64       % io_concurrency: callers of time.sleep(1) at once
-define(SPEED_CHUNKS, 4).     % python_speed: the port and python3 alternate in this many chunks
-define(SPEED_RUNS, 3).       % runs of bench_speed:work() per chunk
-define(PYTHON3, "/usr/bin/python3").
-define(POOL_CPU_CALLERS, 8).   % pool_cpu: Erlang processes
-define(POOL_CPU_CALLS, 10).    % pool_cpu: calls each
-define(POOL_CPU_MS, 50).       % pool_cpu: CPU time of one call, calibrated per run

%% {Object, bytes, Python function, repetitions in a round}. 100 MB three
%% times: unpinned, one such call swung from 0.4x to 1.6x the floor's.
-define(PAYLOADS, [{payload_1mb_oneway, 1000000, len, 5},
                   {payload_10mb_oneway, 10000000, len, 3},
                   {payload_100mb_oneway, 100000000, len, 3},
                   {payload_10mb_roundtrip, 10000000, bytes, 3}]).

-spec run_round(map()) -> #{{atom(), atom()} => number()}.
run_round(Ctx = #{echo := Echo, payload := Payload}) ->
    Port = py_bench_floor:open(Echo, []),
    try
        ok = py_bench_app:start(project, Ctx),
        Parts = [python_speed(Ctx), small_calls(Port), reverse_calls(Port),
                 payloads(Port, Payload), fanout(), io_concurrency(), async_concurrency(),
                 stream_rate(), pool_small_call(Port), pool_cpu(),
                 throughput(Ctx),
                 path_floor()],
        lists:foldl(fun maps:merge/2, #{}, Parts)
    after
        py_bench_floor:close(Port),
        py_bench_app:stop()
    end.

%% Internal.

%% (1) py:call vs the raw echo port, in alternating chunks of calls.
small_calls(Port) ->
    log("small calls: project and raw floor"),
    against_raw_floor(small_call, fun() -> {ok, 3} = py:call(operator, add, [1, 2]) end, Port).

%% Project's small call against the raw floor's, in alternating chunks.
against_raw_floor(Obj, Project, Port) ->
    Raw = fun() -> {ok, 3} = py_bench_floor:call(Port, <<"operator">>, <<"add">>, [1, 2]) end,
    Chunk = n(?SMALL_CALLS) div ?CHUNKS,
    {P, R} = interleave(fun() -> py_bench_stats:timed_loop(Chunk, Project) end,
                        fun() -> py_bench_stats:timed_loop(Chunk, Raw) end,
                        fun() -> [Project() || _ <- lists:seq(1, n(?WARMUP_CALLS))],
                                 [Raw() || _ <- lists:seq(1, n(?WARMUP_CALLS))] end),
    maps:merge(latency(Obj, <<>>, P), latency(Obj, <<"floor_">>, R)).

%% (11) The small call of (1) through a pool of 2 (routing to the
%% least-loaded member), against the same raw floor.
pool_small_call(Port) ->
    log("small calls through a pool of 2: project and raw floor"),
    {ok, _} = py:start_pool(bench_pool_2, #{size => 2}),
    Figures = against_raw_floor(pool_small_call,
                                fun() -> {ok, 3} = py:call(bench_pool_2, operator, add, [1, 2]) end,
                                Port),
    ok = py:stop_pool(bench_pool_2),
    Figures.

%% (12) 8 Erlang processes x 10 calls of ~50 ms of pure-Python CPU work,
%% on a pool of 1 and on a pool of 2: wall times and their ratio (one GIL
%% per member, so 2 members can use 2 CPUs; pinned, both share one).
pool_cpu() ->
    log("pool_cpu: 8 callers x 10 CPU-bound calls, pool of 1 then pool of 2"),
    {ok, _} = py:start_pool(bench_cpu_1, #{size => 1}),
    {ok, _} = py:start_pool(bench_cpu_2, #{size => 2}),
    try
        N = calibrate_burn(bench_cpu_1),
        %% Each member imports the module before the clock starts.
        [{ok, _} = py:call(py:context({Pool, I}), bench_calls, burn, [1])
         || {Pool, Size} <- [{bench_cpu_1, 1}, {bench_cpu_2, 2}], I <- lists:seq(1, Size)],
        One = burn_wall_ms(bench_cpu_1, N),
        Two = burn_wall_ms(bench_cpu_2, N),
        #{{pool_cpu, pool1_ms} => One, {pool_cpu, pool2_ms} => Two,
          {pool_cpu, loop_iterations} => N}
    after
        py:stop_pool(bench_cpu_1),
        py:stop_pool(bench_cpu_2)
    end.

%% The loop length that takes about ?POOL_CPU_MS ms in this interpreter.
calibrate_burn(Pool) ->
    Probe = 200000,
    Ms = lists:min([element(1, timer:tc(fun() -> {ok, _} = py:call(Pool, bench_calls, burn, [Probe])
                                        end)) / 1000 || _ <- lists:seq(1, 3)]),
    max(1000, round(Probe * ?POOL_CPU_MS / max(Ms, 0.01)) div max(1, scale())).

burn_wall_ms(Pool, N) ->
    Self = self(),
    Start = erlang:monotonic_time(microsecond),
    Callers = [spawn_link(fun() ->
                                  [{ok, _} = py:call(Pool, bench_calls, burn, [N])
                                   || _ <- lists:seq(1, ?POOL_CPU_CALLS)],
                                  Self ! {burnt, self()}
                          end) || _ <- lists:seq(1, ?POOL_CPU_CALLERS)],
    [receive {burnt, C} -> ok end || C <- Callers],
    (erlang:monotonic_time(microsecond) - Start) / 1000.

scale() ->
    persistent_term:get({py_bench, scale}, 1).

%% (2) erlang.call from a Python thread vs the echo port calling back from
%% its reading thread; details: the echo port calling from another thread.
reverse_calls(Port) ->
    log("reverse calls: project and raw floor"),
    Chunk = n(?REVERSE_CALLS) div ?CHUNKS,
    Project = fun() -> element(2, ok(py:call(bench_calls, reverse, [Chunk], #{}, ?LONG))) end,
    Raw = fun() -> element(2, py_bench_floor:reverse(Port, Chunk, 1, inline)) end,
    {P, R} = interleave(Project, Raw, fun() -> ok end),
    {_, Handoff} = py_bench_floor:reverse(Port, n(?REVERSE_CALLS), 1, threads),
    lists:foldl(fun maps:merge/2, #{},
                [latency(reverse_call, <<>>, P), latency(reverse_call, <<"floor_">>, R),
                 latency(reverse_call_handoff_floor, <<>>, Handoff)]).

%% (7) Pure Python: bench_speed:work() run inside the port (py:call) and
%% inside python3 (the script, a fresh process per chunk, its start-up not
%% timed), in alternating chunks. Each run is timed inside Python by the
%% thread's CPU clock, which a busy machine does not inflate the way it
%% does the wall clock (the wall times go to details.json).
python_speed(#{python_dir := PyDir}) ->
    log("python speed: project and python3"),
    Runs = n(?SPEED_RUNS),
    Script = filename:join(PyDir, "bench_speed.py"),
    Project = fun() -> ok(py:call(bench_speed, run, [Runs], #{}, ?LONG)) end,
    Python3 = fun() -> python3_runs(Script, Runs) end,
    Chunks = [{Project(), Python3()} || _ <- lists:seq(1, ?SPEED_CHUNKS)],
    Ms = fun(Pick) -> py_bench_stats:median(lists:append([Pick(C) || C <- Chunks])) / 1.0e6 end,
    #{{python_speed, ms} => Ms(fun({{_, Cpu}, _}) -> Cpu end),
      {python_speed, floor_ms} => Ms(fun({_, {_, Cpu}}) -> Cpu end),
      {python_speed, wall_ms} => Ms(fun({{Wall, _}, _}) -> Wall end),
      {python_speed, floor_wall_ms} => Ms(fun({_, {Wall, _}}) -> Wall end)}.

%% `python3 bench_speed.py Runs' prints one "wall_ns cpu_ns" line per run.
python3_runs(Script, Runs) ->
    P = open_port({spawn_executable, ?PYTHON3},
                  [{args, [Script, integer_to_list(Runs)]}, {line, 256}, exit_status]),
    Lines = python3_lines(P, []),
    Pairs = [list_to_tuple([list_to_integer(X) || X <- string:lexemes(L, " ")]) || L <- Lines],
    {[W || {W, _} <- Pairs], [C || {_, C} <- Pairs]}.

python3_lines(P, Acc) ->
    receive
        {P, {data, {eol, Line}}} -> python3_lines(P, [Line | Acc]);
        {P, {exit_status, 0}} -> lists:reverse(Acc);
        {P, {exit_status, S}} -> error({python3_failed, S})
    after ?LONG ->
        error(python3_timeout)
    end.

%% (4) One way (len) and round trip (bytes: identity on bytes), alternating
%% project and raw floor per repetition, and which of the two goes first;
%% the median of each. One untimed call of each comes first: memory freed
%% a while ago costs far more to fill again than memory just freed (on this
%% VM the hypervisor takes freed memory back), so without it the first
%% timed call of a size pays for both and the one right after it for none.
payloads(Port, Payload) ->
    log("payloads: project and raw floor"),
    Project = fun(F, Bin) -> py:call(builtins, F, [Bin]) end,
    Raw = fun(F, Bin) -> py_bench_floor:call(Port, <<"builtins">>, atom_to_binary(F), [Bin]) end,
    lists:foldl(
      fun({Obj, Size, F, Reps}, Acc) ->
              Bin = binary:part(Payload, 0, Size),
              Time = fun(Call) ->
                             {Ms, R} = py_bench_stats:time_ms(fun() -> Call(F, Bin) end),
                             ok = check_payload(F, Size, R),
                             erlang:garbage_collect(),
                             Ms
                     end,
              _ = Time(Project),
              _ = Time(Raw),
              Pairs = [case I rem 2 of
                           1 -> First = Time(Project), {First, Time(Raw)};
                           0 -> First = Time(Raw), {Time(Project), First}
                       end || I <- lists:seq(1, Reps)],
              Acc#{{Obj, ms} => py_bench_stats:median([A || {A, _} <- Pairs]),
                   {Obj, floor_ms} => py_bench_stats:median([B || {_, B} <- Pairs])}
      end, #{}, ?PAYLOADS).

check_payload(len, Size, {ok, Size}) -> ok;
check_payload(bytes, Size, {ok, B}) when byte_size(B) =:= Size -> ok;
check_payload(F, _, Other) -> error({bad_payload_reply, F, Other}).

%% (8) 200 Erlang processes each call time.sleep(1) at once: I/O-bound
%% Python runs concurrently when the port's executors grow with the work.
io_concurrency() ->
    log("io concurrency: project"),
    Self = self(),
    Start = erlang:monotonic_time(microsecond),
    Pids = [spawn_link(fun() -> Self ! {self(), py:call(time, sleep, [1], #{}, ?LONG)} end)
            || _ <- lists:seq(1, ?IO_CALLERS)],
    [{ok, none} = receive {P, R} -> R end || P <- Pids],
    #{{io_concurrency, ms} => (erlang:monotonic_time(microsecond) - Start) / 1000}.

%% (10) 10,000 coroutines awaiting asyncio.sleep(1) at once, from one
%% Erlang process: they share the port's event loop thread.
async_concurrency() ->
    log("async concurrency: project"),
    N = n(?ASYNC_CALLS),
    Start = erlang:monotonic_time(microsecond),
    Handles = [py:async_call(bench_calls, sleeper, [1]) || _ <- lists:seq(1, N)],
    [{ok, none} = py:async_await(H, ?LONG) || H <- Handles],
    #{{async_concurrency, ms} => (erlang:monotonic_time(microsecond) - Start) / 1000}.

%% (9) A stream of small ints (range) with window 64, acknowledged in
%% batches of 32: items per second the owner receives.
stream_rate() ->
    log("stream: project"),
    N = n(?STREAM_ITEMS),
    Start = erlang:monotonic_time(microsecond),
    {ok, Ref} = py:stream_start(builtins, range, [N], #{window => 64}),
    N = stream_consume(Ref, 0, 0),
    Us = erlang:monotonic_time(microsecond) - Start,
    #{{stream, items_per_s} => N * 1000000 / Us}.

stream_consume(Ref, Got, Unacked) ->
    receive
        {py_stream, Ref, {data, _}} when Unacked + 1 >= 32 ->
            ok = py:stream_ack(Ref, Unacked + 1),
            stream_consume(Ref, Got + 1, 0);
        {py_stream, Ref, {data, _}} ->
            stream_consume(Ref, Got + 1, Unacked + 1);
        {py_stream, Ref, done} ->
            Got;
        {py_stream, Ref, {error, E}} ->
            error({stream_failed, E})
    after ?LONG ->
        error(stream_stalled)
    end.

%% (6) 8 Python threads x 10,000 erlang.calls.
fanout() ->
    log("fan-out: project"),
    {Ns, Samples} = ok(py:call(bench_calls, fanout, [?FANOUT_THREADS, n(?FANOUT_CALLS)],
                               #{}, ?LONG)),
    maps:merge(#{{fanout, calls_per_s} => rate(Ns, Samples)}, latency(fanout, <<>>, Samples)).

%% (3) N callers, the project then the floor through py's path, per N.
%% Leaves the application running as the floor.
throughput(Ctx) ->
    log("throughput: project and floor via py, 1/8/64 callers"),
    Add = fun() -> {ok, 3} = py:call(operator, add, [1, 2]) end,
    lists:foldl(
      fun({N, Which, RateField, Prefix}, Acc) ->
              ok = py_bench_app:start(Which, Ctx),
              Obj = list_to_atom("throughput_" ++ integer_to_list(N)),
              {Rate, Samples} = py_bench_load:throughput(Add, N, n(?THROUGHPUT_MS)),
              maps:merge(Acc#{{Obj, RateField} => Rate}, latency(Obj, Prefix, Samples))
      end, #{},
      [Step || N <- ?CALLERS,
               Step <- [{N, project, calls_per_s, <<>>},
                        {N, floor, floor_calls_per_s, <<"floor_">>}]]).

%% The floor through py's own path (the app runs with the echo port):
%% details for (1) and (2), and the floor of (6).
path_floor() ->
    log("floor via py: small calls, reverse calls, fan-out"),
    Add = fun() -> {ok, 3} = py:call(operator, add, [1, 2]) end,
    _ = py_bench_stats:timed_loop(n(?WARMUP_CALLS), Add),
    Small = py_bench_stats:timed_loop(n(?SMALL_CALLS), Add),
    {_, Inline} = echo_reverse(n(?REVERSE_CALLS), 1, inline),
    {_, Handoff} = echo_reverse(n(?REVERSE_CALLS), 1, threads),
    {FanNs, FanSamples} = echo_reverse(n(?FANOUT_CALLS), ?FANOUT_THREADS, threads),
    lists:foldl(fun maps:merge/2, #{},
                [latency(small_call_path_floor, <<>>, Small),
                 latency(reverse_call_path_floor, <<>>, Inline),
                 latency(reverse_call_path_handoff_floor, <<>>, Handoff),
                 #{{fanout, floor_calls_per_s} => rate(FanNs, FanSamples)},
                 latency(fanout, <<"floor_">>, FanSamples)]).

echo_reverse(Count, Threads, Mode) ->
    ok(py:call('__bench__', reverse, [Count, Threads, Mode], #{}, ?LONG)).

%% Runs Warmup, then A and B alternately ?CHUNKS times; each returns samples.
interleave(A, B, Warmup) ->
    _ = Warmup(),
    Pairs = [{A(), B()} || _ <- lists:seq(1, ?CHUNKS)],
    {lists:append([X || {X, _} <- Pairs]), lists:append([Y || {_, Y} <- Pairs])}.

rate(ElapsedNs, Samples) ->
    length(Samples) / (ElapsedNs / 1.0e9).

%% #{{Object, <Prefix>p50_us} => _, {Object, <Prefix>p99_us} => _} of samples in ns.
latency(Obj, Prefix, Samples) ->
    maps:from_list([{{Obj, binary_to_atom(<<Prefix/binary, (atom_to_binary(K))/binary>>)}, V}
                    || {K, V} <- maps:to_list(py_bench_stats:percentiles(Samples))]).

ok({ok, V}) -> V;
ok(Other) -> error({bench_call_failed, Other}).

log(Text) ->
    py_bench_run:log(Text).

n(Count) ->
    max(1, Count div persistent_term:get({py_bench, scale}, 1)).
