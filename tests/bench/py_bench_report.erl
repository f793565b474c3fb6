%% @doc Turns the flat figures of the pinned and unpinned passes into results.json, details.json and the printed table.
-module(py_bench_report).

-export([results/1, details/1, table/1, targets/1]).

-type figures() :: #{{atom(), atom()} => number()}.
-type modes() :: #{pinned := figures(), unpinned := figures()}.

%% The objects and fields of bench/results.json (issue 6), in order; a
%% {Ratio, Num, Den} field is Num / Den.
-define(LATENCY, [p50_us, p99_us, floor_p50_us, floor_p99_us,
                  {ratio_p50, p50_us, floor_p50_us}, {ratio_p99, p99_us, floor_p99_us}]).
-define(RATE, [calls_per_s, floor_calls_per_s, {ratio, calls_per_s, floor_calls_per_s}]).
-define(TIME, [ms, floor_ms, {ratio, ms, floor_ms}]).
-define(SHAPE, [{small_call, ?LATENCY}, {reverse_call, ?LATENCY},
                {throughput_1, ?RATE}, {throughput_8, ?RATE}, {throughput_64, ?RATE},
                {payload_1mb_oneway, ?TIME}, {payload_10mb_oneway, ?TIME},
                {payload_100mb_oneway, ?TIME}, {payload_10mb_roundtrip, ?TIME},
                {startup, ?TIME},
                {rss, [kb, floor_kb, {ratio, kb, floor_kb}, {over_floor_kb, kb, floor_kb}]},
                {fanout, [calls_per_s]}, {python_speed, ?TIME}, {io_concurrency, [ms]},
                {stream, [items_per_s]}, {async_concurrency, [ms]},
                {pool_small_call, ?LATENCY},
                {pool_cpu, [pool1_ms, pool2_ms, {speedup, pool1_ms, pool2_ms}]}]).

-define(PAYLOAD_MB, [{payload_1mb_oneway, 1}, {payload_10mb_oneway, 10},
                     {payload_100mb_oneway, 100}, {payload_10mb_roundtrip, 10}]).

%% @doc The targets of a pass: {Object, Field, max | min, Limit}. The same
%% in both passes (issues 6 and 17), but for the unpinned reverse call,
%% which pays wake-ups across the two vCPUs that the floor's single thread
%% does not (docs/benchmarks.md), and pool_cpu's speedup, which needs the
%% two CPUs that the pinned pass does not have (issue 15).
-spec targets(pinned | unpinned) -> [{atom(), atom(), max | min, number()}].
targets(Mode) ->
    Reverse = case Mode of pinned -> 1.3; unpinned -> 2.0 end,
    PoolCpu = case Mode of pinned -> []; unpinned -> [{pool_cpu, speedup, min, 1.8}] end,
    [{small_call, ratio_p50, max, 1.25}, {small_call, ratio_p99, max, 1.5},
     {reverse_call, ratio_p50, max, Reverse},
     {throughput_8, ratio, min, 0.9}, {throughput_64, ratio, min, 0.9},
     {payload_100mb_oneway, ratio, max, 1.25},
     {startup, ratio, max, 1.3}, {rss, over_floor_kb, max, 4000},
     {python_speed, ratio, max, 1.03},
     {io_concurrency, ms, max, 1500},
     {async_concurrency, ms, max, 3000},
     {pool_small_call, ratio_p50, max, 1.3}] ++ PoolCpu.

%% @doc The results.json term: the objects and fields of issue 6 in its order,
%% then python_speed; a field with a target is followed by `<field>_max' (or
%% `_min') and `<field>_met'.
-spec results(modes()) -> {ordered, list()}.
results(#{pinned := P, unpinned := U}) ->
    Ordered = fun(Mode, Figures) ->
                      {ordered, [{Obj, {ordered, lists:append([with_target(Mode, Obj, F, Figures)
                                                               || F <- Fields])}}
                                 || {Obj, Fields} <- ?SHAPE]}
              end,
    {ordered, [{pinned, Ordered(pinned, P)}, {unpinned, Ordered(unpinned, U)}]}.

%% @doc The details.json term: every figure measured, grouped by object, with ratios and MB/s.
-spec details(modes()) -> map().
details(Modes) ->
    maps:map(fun(_Mode, Figures) ->
                     Grouped = lists:foldl(
                                 fun({{Obj, Field}, V}, Acc) ->
                                         maps:update_with(Obj, fun(M) -> M#{Field => V} end,
                                                          #{Field => V}, Acc)
                                 end, #{}, maps:to_list(Figures)),
                     Merge = fun(_, A, B) -> maps:merge(A, B) end,
                     maps:merge_with(Merge, Grouped,
                                     maps:merge_with(Merge, shape(Figures), rates(Figures)))
             end, Modes).

%% @doc The printed table: one row per figure, pinned then unpinned; a ratio
%% with a target is followed by it and whether it is met ("<1.25 ok").
-spec table(modes()) -> iodata().
table(#{pinned := P, unpinned := U}) ->
    Head = io_lib:format("~-34s ~-8s|~42s |~42s~n~-34s ~-8s|~10s~10s~10s~12s |~10s~10s~10s~12s~n",
                         ["", "", "pinned (taskset -c 0)  ", "unpinned  ",
                          "measurement", "unit", "project", "floor", "ratio", "target",
                          "project", "floor", "ratio", "target"]),
    Line = [lists:duplicate(132, $-), $\n],
    Rows = [row(R, P, U) || R <- rows()],
    Missed = [io_lib:format("target missed: ~s ~s.~s~n", [Mode, Obj, Field])
              || {Mode, Figures} <- [{pinned, P}, {unpinned, U}],
                 {Obj, Field, _, _} = T <- targets(Mode),
                 met(T, Figures) =/= true],
    [Head, Line, Rows, Line, Missed].

%% Internal.

with_target(Mode, Obj, F, Figures) ->
    Field = field(Obj, F, Figures),
    Name = element(1, Field),
    case lists:keyfind(Name, 2, [T || T = {O, _, _, _} <- targets(Mode), O =:= Obj]) of
        false ->
            [Field];
        {_, _, Bound, Limit} = T ->
            Suffix = atom_to_binary(Bound),
            [Field, {<<(atom_to_binary(Name))/binary, "_", Suffix/binary>>, Limit},
             {<<(atom_to_binary(Name))/binary, "_met">>, met(T, Figures)}]
    end.

%% true | false, or null when the figure is missing.
met({Obj, Field, Bound, Limit}, Figures) ->
    Fields = proplists:get_value(Obj, ?SHAPE),
    [Spec] = [F || F <- Fields, F =:= Field orelse element(1, F) =:= Field],
    case field(Obj, Spec, Figures) of
        {_, V} when is_number(V), Bound =:= max -> V =< Limit;
        {_, V} when is_number(V), Bound =:= min -> V >= Limit;
        _ -> null
    end.

shape(Figures) ->
    maps:from_list([{Obj, maps:from_list([field(Obj, F, Figures) || F <- Fields])}
                    || {Obj, Fields} <- ?SHAPE]).

field(Obj, {over_floor_kb, Num, Den}, Figures) ->
    case {fig(Obj, Num, Figures), fig(Obj, Den, Figures)} of
        {A, B} when is_number(A), is_number(B) -> {over_floor_kb, A - B};
        _ -> {over_floor_kb, null}
    end;
field(Obj, {Name, Num, Den}, Figures) ->
    {Name, ratio(fig(Obj, Num, Figures), fig(Obj, Den, Figures))};
field(Obj, Name, Figures) ->
    {Name, fig(Obj, Name, Figures)}.

fig(Obj, Field, Figures) ->
    maps:get({Obj, Field}, Figures, null).

ratio(A, B) when is_number(A), is_number(B), B /= 0 -> A / B;
ratio(_, _) -> null.

%% Derived figures for details.json: MB/s of the payloads.
rates(Figures) ->
    maps:from_list(
      [{Obj, #{mb_per_s => mb_per_s(Mb, fig(Obj, ms, Figures)),
               floor_mb_per_s => mb_per_s(Mb, fig(Obj, floor_ms, Figures))}}
       || {Obj, Mb} <- ?PAYLOAD_MB]).

mb_per_s(Mb, Ms) when is_number(Ms), Ms > 0 -> Mb / (Ms / 1000);
mb_per_s(_, _) -> null.

%% {Label, Unit, Project figure, Floor figure, Target}: Target is the
%% {Object, Field} whose target (targets/1) the row shows, or none; a fun
%% computes a derived figure.
rows() ->
    Lat = fun(Label, Obj) ->
                  [{Label ++ " p50", "us", {Obj, p50_us}, {Obj, floor_p50_us}, {Obj, ratio_p50}},
                   {Label ++ " p99", "us", {Obj, p99_us}, {Obj, floor_p99_us}, {Obj, ratio_p99}}]
          end,
    Via = fun(Label, Obj, FloorObj) ->
                  [{Label ++ " p50", "us", {Obj, p50_us}, {FloorObj, p50_us}, none},
                   {Label ++ " p99", "us", {Obj, p99_us}, {FloorObj, p99_us}, none}]
          end,
    lists:append(
      [Lat("small call (1)", small_call),
       Lat("reverse call (2)", reverse_call),
       [{"throughput " ++ N ++ " callers (3)", "calls/s",
         {Obj, calls_per_s}, {Obj, floor_calls_per_s}, {Obj, ratio}}
        || {N, Obj} <- [{"1", throughput_1}, {"8", throughput_8}, {"64", throughput_64}]],
       [{Label ++ " (4)", "ms", {Obj, ms}, {Obj, floor_ms}, {Obj, ratio}}
        || {Label, Obj} <- [{"1 MB one way", payload_1mb_oneway},
                            {"10 MB one way", payload_10mb_oneway},
                            {"100 MB one way", payload_100mb_oneway},
                            {"10 MB round trip", payload_10mb_roundtrip}]],
       [{"  " ++ atom_to_list(Obj), "MB/s", {mbps, Obj, ms, Mb}, {mbps, Obj, floor_ms, Mb}, none}
        || {Obj, Mb} <- ?PAYLOAD_MB],
       [{"start-up to first result (5)", "ms", {startup, ms}, {startup, floor_ms},
         {startup, ratio}},
        {"idle RSS (5)", "kB", {rss, kb}, {rss, floor_kb}, {rss, over_floor_kb}},
        {"fan-out 8 threads x 10k (6)", "calls/s", {fanout, calls_per_s},
         {fanout, floor_calls_per_s}, none},
        {"pure Python, CPU vs python3 (7)", "ms", {python_speed, ms}, {python_speed, floor_ms},
         {python_speed, ratio}},
        {"200 x time.sleep(1) at once (8)", "ms", {io_concurrency, ms}, none,
         {io_concurrency, ms}},
        {"stream of ints, window 64 (9)", "items/s", {stream, items_per_s}, none, none},
        {"10,000 x asyncio.sleep(1) (10)", "ms", {async_concurrency, ms}, none,
         {async_concurrency, ms}}],
       Lat("small call, pool of 2 (11)", pool_small_call),
       [{"8x10 CPU calls, pool 1 / pool 2 (12)", "ms", {pool_cpu, pool1_ms}, {pool_cpu, pool2_ms},
         {pool_cpu, speedup}},
        {"-- details.json --", "", none, none, none}],
       Via("small call, floor via py path", small_call, small_call_path_floor),
       Via("reverse, floor with hand-off", reverse_call, reverse_call_handoff_floor),
       Via("reverse, floor via py path", reverse_call, reverse_call_path_floor),
       lists:append([[setelement(5, R, none) || R <- Lat("latency at " ++ N ++ " callers", Obj)]
                     || {N, Obj} <- [{"1", throughput_1}, {"8", throughput_8},
                                     {"64", throughput_64}]]),
       [setelement(5, R, none) || R <- Lat("fan-out latency", fanout)],
       [{"pure Python, wall vs python3", "ms", {python_speed, wall_ms},
         {python_speed, floor_wall_ms}, none},
        {"start-up, echo port (no Python)", "ms", {startup, ms}, {startup_echo_port_floor, ms},
         none},
        {"start-up, python3 -c pass", "ms", {startup, ms}, {startup_python3_floor, ms}, none},
        {"idle RSS, echo port --embed", "kB", {rss, kb}, {rss_echo_embed_floor, kb}, none}]]).

row({Label, Unit, Num, Den, Target}, P, U) ->
    io_lib:format("~-34s ~-8s|~s~s~s~s |~s~s~s~s~n",
                  [Label, Unit | cells(Num, Den, Target, pinned, P)
                                 ++ cells(Num, Den, Target, unpinned, U)]).

cells(none, none, _, _, _) -> ["", "", "", ""];
cells(Num, Den, Target, Mode, Figures) ->
    A = figure(Num, Figures),
    B = figure(Den, Figures),
    [num(A), num(B), num(ratio(A, B)), target_cell(Target, Mode, Figures)].

%% "<=1.25 ok", ">=0.9 MISS", "+<=4000 ok" (kB over the floor), or blank.
target_cell(none, _, _) ->
    io_lib:format("~12s", [""]);
target_cell({Obj, Field}, Mode, Figures) ->
    case [T || T = {O, F, _, _} <- targets(Mode), O =:= Obj, F =:= Field] of
        [] ->
            io_lib:format("~12s", [""]);
        [{_, _, Bound, Limit} = T] ->
            Sign = case {Field, Bound} of
                       {over_floor_kb, _} -> "+<=";
                       {_, max} -> "<=";
                       {_, min} -> ">="
                   end,
            Verdict = case met(T, Figures) of true -> "ok"; false -> "MISS"; null -> "-" end,
            io_lib:format("~12s", [io_lib:format("~s~s ~s", [Sign, limit(Limit), Verdict])])
    end.

limit(L) when is_integer(L) -> integer_to_list(L);
limit(L) -> float_to_list(L, [{decimals, 2}, compact]).

figure({mbps, Obj, Field, Mb}, Figures) -> mb_per_s(Mb, maps:get({Obj, Field}, Figures, null));
figure(Key, Figures) -> maps:get(Key, Figures, null).

num(null) -> io_lib:format("~10s", ["-"]);
num(X) when abs(X) >= 1000 -> io_lib:format("~10b", [round(X)]);
num(X) when abs(X) >= 100 -> io_lib:format("~10.1f", [float(X)]);
num(X) -> io_lib:format("~10.2f", [float(X)]).
