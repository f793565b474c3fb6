%% @doc Turns the flat figures of the pinned and unpinned passes into results.json, details.json and the printed table.
-module(py_bench_report).

-export([results/1, details/1, table/1]).

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
                {startup, ?TIME}, {rss, [kb, floor_kb, {ratio, kb, floor_kb}]},
                {fanout, [calls_per_s]}]).

-define(PAYLOAD_MB, [{payload_1mb_oneway, 1}, {payload_10mb_oneway, 10},
                     {payload_100mb_oneway, 100}, {payload_10mb_roundtrip, 10}]).

%% @doc The results.json term: exactly the objects and fields of the issue, in its order.
-spec results(modes()) -> {ordered, list()}.
results(#{pinned := P, unpinned := U}) ->
    Ordered = fun(Figures) ->
                      {ordered, [{Obj, {ordered, [field(Obj, F, Figures) || F <- Fields]}}
                                 || {Obj, Fields} <- ?SHAPE]}
              end,
    {ordered, [{pinned, Ordered(P)}, {unpinned, Ordered(U)}]}.

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

%% @doc The printed table: one row per figure, pinned then unpinned.
-spec table(modes()) -> iodata().
table(#{pinned := P, unpinned := U}) ->
    Head = io_lib:format("~-34s ~-8s|~30s |~30s~n~-34s ~-8s|~10s~10s~10s |~10s~10s~10s~n",
                         ["", "", "pinned (taskset -c 0)  ", "unpinned  ",
                          "measurement", "unit", "project", "floor", "ratio",
                          "project", "floor", "ratio"]),
    Line = [lists:duplicate(108, $-), $\n],
    Rows = [row(Label, Unit, Num, Den, P, U) || {Label, Unit, Num, Den} <- rows()],
    [Head, Line, Rows, Line].

%% Internal.

shape(Figures) ->
    maps:from_list([{Obj, maps:from_list([field(Obj, F, Figures) || F <- Fields])}
                    || {Obj, Fields} <- ?SHAPE]).

field(Obj, {Name, Num, Den}, Figures) ->
    {Name, ratio(fig(Obj, Num, Figures), fig(Obj, Den, Figures))};
field(Obj, Name, Figures) ->
    {Name, fig(Obj, Name, Figures)}.

fig(Obj, Field, Figures) ->
    maps:get({Obj, Field}, Figures, null).

ratio(A, B) when is_number(A), is_number(B), B /= 0 -> A / B;
ratio(_, _) -> null.

%% Derived figures for details.json: MB/s of the payloads, RSS above the floor.
rates(Figures) ->
    Rss = case {fig(rss, kb, Figures), fig(rss, floor_kb, Figures)} of
              {A, B} when is_number(A), is_number(B) -> #{rss => #{over_floor_kb => A - B}};
              _ -> #{}
          end,
    maps:merge(
      Rss,
      maps:from_list(
        [{Obj, #{mb_per_s => mb_per_s(Mb, fig(Obj, ms, Figures)),
                 floor_mb_per_s => mb_per_s(Mb, fig(Obj, floor_ms, Figures))}}
         || {Obj, Mb} <- ?PAYLOAD_MB])).

mb_per_s(Mb, Ms) when is_number(Ms), Ms > 0 -> Mb / (Ms / 1000);
mb_per_s(_, _) -> null.

%% {Label, Unit, Project figure, Floor figure}; a fun computes a derived figure.
rows() ->
    Lat = fun(Label, Obj) ->
                  [{Label ++ " p50", "us", {Obj, p50_us}, {Obj, floor_p50_us}},
                   {Label ++ " p99", "us", {Obj, p99_us}, {Obj, floor_p99_us}}]
          end,
    Via = fun(Label, Obj, FloorObj) ->
                  [{Label ++ " p50", "us", {Obj, p50_us}, {FloorObj, p50_us}},
                   {Label ++ " p99", "us", {Obj, p99_us}, {FloorObj, p99_us}}]
          end,
    lists:append(
      [Lat("small call (1)", small_call),
       Lat("reverse call (2)", reverse_call),
       [{"throughput " ++ N ++ " callers (3)", "calls/s",
         {Obj, calls_per_s}, {Obj, floor_calls_per_s}}
        || {N, Obj} <- [{"1", throughput_1}, {"8", throughput_8}, {"64", throughput_64}]],
       [{Label ++ " (4)", "ms", {Obj, ms}, {Obj, floor_ms}}
        || {Label, Obj} <- [{"1 MB one way", payload_1mb_oneway},
                            {"10 MB one way", payload_10mb_oneway},
                            {"100 MB one way", payload_100mb_oneway},
                            {"10 MB round trip", payload_10mb_roundtrip}]],
       [{"  " ++ atom_to_list(Obj), "MB/s", {mbps, Obj, ms, Mb}, {mbps, Obj, floor_ms, Mb}}
        || {Obj, Mb} <- ?PAYLOAD_MB],
       [{"start-up to first result (5)", "ms", {startup, ms}, {startup, floor_ms}},
        {"idle RSS (5)", "kB", {rss, kb}, {rss, floor_kb}},
        {"fan-out 8 threads x 10k (6)", "calls/s", {fanout, calls_per_s},
         {fanout, floor_calls_per_s}},
        {"-- details.json --", "", none, none}],
       Via("small call, floor via py path", small_call, small_call_path_floor),
       Via("reverse, floor with hand-off", reverse_call, reverse_call_handoff_floor),
       Via("reverse, floor via py path", reverse_call, reverse_call_path_floor),
       lists:append([Lat("latency at " ++ N ++ " callers", Obj)
                     || {N, Obj} <- [{"1", throughput_1}, {"8", throughput_8},
                                     {"64", throughput_64}]]),
       Lat("fan-out latency", fanout),
       [{"start-up, echo port (no Python)", "ms", {startup, ms}, {startup_echo_port_floor, ms}},
        {"start-up, python3 -c pass", "ms", {startup, ms}, {startup_python3_floor, ms}},
        {"idle RSS, echo port --embed", "kB", {rss, kb}, {rss_echo_embed_floor, kb}}]]).

row(Label, Unit, Num, Den, P, U) ->
    io_lib:format("~-34s ~-8s|~s~s~s |~s~s~s~n",
                  [Label, Unit | cells(Num, Den, P) ++ cells(Num, Den, U)]).

cells(none, none, _) -> ["", "", ""];
cells(Num, Den, Figures) ->
    A = figure(Num, Figures),
    B = figure(Den, Figures),
    [num(A), num(B), num(ratio(A, B))].

figure({mbps, Obj, Field, Mb}, Figures) -> mb_per_s(Mb, maps:get({Obj, Field}, Figures, null));
figure(Key, Figures) -> maps:get(Key, Figures, null).

num(null) -> io_lib:format("~10s", ["-"]);
num(X) when abs(X) >= 1000 -> io_lib:format("~10b", [round(X)]);
num(X) when abs(X) >= 100 -> io_lib:format("~10.1f", [float(X)]);
num(X) -> io_lib:format("~10.2f", [float(X)]).
