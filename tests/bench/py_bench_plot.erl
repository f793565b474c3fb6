%% @doc Draws latency vs concurrency (p50 and p99 at 1, 8, 64 callers; project and floor) as a PNG with gnuplot.
-module(py_bench_plot).

-export([latency_png/3]).

-define(CALLERS, [{1, throughput_1}, {8, throughput_8}, {64, throughput_64}]).

%% @doc Writes the data and the gnuplot script into WorkDir and draws Png.
%% Returns ok, or {error, Why} when gnuplot is missing or fails.
-spec latency_png(#{pinned := map(), unpinned := map()}, string(), string()) ->
          ok | {error, term()}.
latency_png(Modes, WorkDir, Png) ->
    Data = filename:join(WorkDir, "latency.dat"),
    Script = filename:join(WorkDir, "latency.gp"),
    ok = file:write_file(Data, data(Modes)),
    ok = file:write_file(Script, script(Data, Png)),
    case os:find_executable("gnuplot") of
        false ->
            {error, no_gnuplot};
        Gnuplot ->
            Port = open_port({spawn_executable, Gnuplot},
                             [{args, [Script]}, exit_status, stderr_to_stdout, binary]),
            wait(Port, [])
    end.

wait(Port, Out) ->
    receive
        {Port, {data, D}} -> wait(Port, [Out, D]);
        {Port, {exit_status, 0}} -> ok;
        {Port, {exit_status, S}} -> {error, {gnuplot, S, iolist_to_binary(Out)}}
    after 30000 -> {error, gnuplot_timeout}
    end.

%% One line per caller count: callers, then p50 and p99 of project and
%% floor, pinned then unpinned (microseconds).
data(#{pinned := P, unpinned := U}) ->
    ["# callers  pinned: project p50 p99, floor p50 p99;  unpinned: the same\n",
     [io_lib:format("~b ~s~n", [N, lists:join(" ", [num(maps:get({Obj, F}, M, null))
                                                   || M <- [P, U],
                                                      F <- [p50_us, p99_us,
                                                            floor_p50_us, floor_p99_us]])])
      || {N, Obj} <- ?CALLERS]].

num(null) -> "NaN";
num(X) -> io_lib:format("~.3f", [float(X)]).

script(Data, Png) ->
    Panel = fun(Title, Col) ->
                    io_lib:format(
                      "set title '~s'~n"
                      "plot '~s' using 1:~b with linespoints lw 2 pt 7 lc rgb '#c0392b' title 'erlang\\_python p50', \\~n"
                      "     '' using 1:~b with linespoints lw 2 pt 5 dt 2 lc rgb '#c0392b' title 'erlang\\_python p99', \\~n"
                      "     '' using 1:~b with linespoints lw 2 pt 7 lc rgb '#2471a3' title 'echo floor p50', \\~n"
                      "     '' using 1:~b with linespoints lw 2 pt 5 dt 2 lc rgb '#2471a3' title 'echo floor p99'~n",
                      [Title, Data, Col, Col + 1, Col + 2, Col + 3])
            end,
    ["set terminal pngcairo size 1200,520 font 'sans,10'\n",
     "set output '", Png, "'\n",
     "set multiplot layout 1,2 title 'py:call(operator, add, [1,2]) latency vs concurrent Erlang callers "
     "(floor: echo port through the same py path)'\n",
     "set logscale xy\n",
     "set xtics (1, 8, 64)\n",
     "set xrange [0.8:80]\n",
     "set xlabel 'concurrent callers'\n",
     "set ylabel 'latency per call (us)'\n",
     "set grid\n",
     "set key top left\n",
     Panel("pinned (taskset -c 0)", 2),
     Panel("unpinned", 6),
     "unset multiplot\n"].
