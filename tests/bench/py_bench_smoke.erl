%% @doc A seconds-long check (under ctest) that the benchmark's floor still works: the echo port, raw and behind py.
%%
%%   erl -noshell -pa <build>/bench/ebin -pa <build>/lib/erlang_python/ebin \
%%       -run py_bench_smoke main <Build>
-module(py_bench_smoke).

-export([main/1]).

-spec main([string()]) -> no_return().
main([Build]) ->
    try
        check(py_bench_app:context(Build)),
        io:format("bench smoke test: ok~n"),
        halt(0)
    catch
        Class:Reason:Stack ->
            io:format(standard_error, "bench smoke test failed: ~p:~p~n~p~n",
                      [Class, Reason, Stack]),
            halt(1)
    end.

check(Ctx = #{echo := Echo}) ->
    logger:set_primary_config(level, warning),
    Port = py_bench_floor:open(Echo, []),
    {ok, 3} = py_bench_floor:call(Port, <<"operator">>, <<"add">>, [1, 2]),
    {ok, 5} = py_bench_floor:call(Port, <<"builtins">>, <<"len">>, [<<1, 2, 3, 4, 255>>]),
    Term = [1, -7, 1 bsl 70, 2.5, atom, <<"text">>, "abc", {a, [x | y]}, #{k => [300]}, self()],
    {ok, Term} = py_bench_floor:call(Port, <<"builtins">>, <<"bytes">>, [Term]),
    {_, [_ | _] = Inline} = py_bench_floor:reverse(Port, 100, 1, inline),
    100 = length(Inline),
    {_, Threads} = py_bench_floor:reverse(Port, 50, 2, threads),
    100 = length(Threads),
    py_bench_floor:close(Port),
    ok = py_bench_app:setup(Ctx),
    ok = py_bench_app:start(floor, Ctx),
    {ok, 3} = py:call(operator, add, [1, 2]),
    {ok, {_, Handled}} = py:call('__bench__', reverse, [20, 2, threads]),
    40 = length(Handled),
    ok = py_bench_app:stop().
