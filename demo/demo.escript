#!/usr/bin/env escript
%% The README's demo: starts erlang_python, calls Python, and runs the
%% threading scenarios of the specification (demo/threads_demo.py).
%% usage: escript demo/demo.escript <path to erlang_python/ebin>

main([Ebin]) ->
    true = code:add_patha(Ebin),
    Here = filename:absname(filename:dirname(escript:script_name())),
    ok = application:load(erlang_python),
    ok = application:set_env(erlang_python, python_path, [Here]),
    %% print() lines are logged at info by default, below the default
    %% primary level (notice): shown here (docs/guide/logging.md).
    ok = application:set_env(erlang_python, stdout_level, notice),
    {ok, _} = application:ensure_all_started(erlang_python),
    #{python_version := Version, os_pid := OsPid} = py:stats(),
    io:format("erlang_python started: Python ~s in OS process ~p~n~n", [Version, OsPid]),

    section("Erlang calls Python"),
    show("py:call(math, sqrt, [16])", py:call(math, sqrt, [16])),
    show("py:eval(<<\"2 ** 100\">>)", py:eval(<<"2 ** 100">>)),
    show("py:call(json, dumps, [#{name => <<\"ada\">>}], #{sort_keys => true})",
         py:call(json, dumps, [#{name => <<"ada">>}], #{sort_keys => true})),
    show("py:exec(<<\"def greet(n): return f'hello {n}'\">>)",
         py:exec(<<"def greet(n): return f'hello {n}'">>)),
    show("py:call('__main__', greet, [<<\"world\">>])",
         py:call('__main__', greet, [<<"world">>])),
    show("py:call(nosuchmodule, f, [])", py:call(nosuchmodule, f, [])),

    section("Python threads call Erlang"),
    ok = py:register_function(my_function, fun([A, B]) -> A * 10 + B end),
    ok = py:register_function(double_it, fun([X]) -> X * 2 end),
    ok = py:register_function(add_one, fun([X]) -> X + 1 end),
    ok = py:register_function(maybe_fail, fun([X]) -> error({cannot_handle, X}) end),
    show("threading.Thread: erlang.call('my_function', 4, 2)",
         py:call(threads_demo, thread_worker, [4, 2])),
    show("ThreadPoolExecutor(max_workers=4).map(double_it, range(10))",
         py:call(threads_demo, pool_map, [])),
    show("one thread: add_one three times from 0", py:call(threads_demo, chained, [])),
    show("10 threads: double_it(n)", py:call(threads_demo, ten_threads, [])),
    show("an Erlang error in a thread", py:call(threads_demo, error_handling, [])),

    section("Bookkeeping"),
    Stats = py:stats(),
    show("py:stats()", maps:with([channels, handlers, pending_calls, in_flight_callbacks, port],
                                 Stats)),
    ok = application:stop(erlang_python),
    io:format("~ndone.~n");
main(_) ->
    io:format(standard_error, "usage: escript demo/demo.escript <erlang_python ebin>~n", []),
    halt(2).

section(Title) ->
    io:format("== ~s ==~n", [Title]).

show(What, Result) ->
    io:format("  ~s~n    -> ~tp~n", [What, Result]).
