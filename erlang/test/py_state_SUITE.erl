%% @doc Shared state between Erlang and every Python thread (py:state_*,
%% erlang.state_*), erlang.whereis, and the interpreter utilities
%% py:version/0, py:memory_stats/0, py:gc/0,1 and py:reload/1.
-module(py_state_SUITE).

-include_lib("common_test/include/ct.hrl").

-export([all/0, init_per_suite/1, end_per_suite/1, init_per_testcase/2]).
-export([erlang_stores_and_python_reads/1,
         python_stores_and_erlang_reads/1,
         counters_are_atomic_across_threads/1,
         state_outlives_a_port_restart/1,
         whereis_finds_registered_processes/1,
         version_memory_stats_and_gc/1,
         reload_picks_up_a_changed_module/1,
         max_state_entries_caps_new_keys_exactly/1]).

all() ->
    [erlang_stores_and_python_reads,
     python_stores_and_erlang_reads,
     counters_are_atomic_across_threads,
     state_outlives_a_port_restart,
     whereis_finds_registered_processes,
     version_memory_stats_and_gc,
     reload_picks_up_a_changed_module,
     max_state_entries_caps_new_keys_exactly].

init_per_suite(Config) ->
    ok = py_test_helper:start([?config(priv_dir, Config)]),
    Config.

end_per_suite(_Config) ->
    py_test_helper:stop().

init_per_testcase(_Case, Config) ->
    ok = py:state_clear(),
    Config.

erlang_stores_and_python_reads(_Config) ->
    ok = py:state_store(<<"cfg">>, #{count => 100, tags => [<<"a">>]}),
    {ok, #{count := 100}} = py:state_fetch(<<"cfg">>),
    {ok, true} = py:eval(<<"erlang.state_get('cfg') == {'count': 100, 'tags': ['a']}">>),
    {ok, none} = py:eval(<<"erlang.state_get('absent')">>),
    {error, not_found} = py:state_fetch(<<"absent">>),
    ok = py:exec(<<"from erlang import state_keys\nkeys_seen = sorted(state_keys())\n">>),
    {ok, [<<"cfg">>]} = py:eval(<<"keys_seen">>),
    ok = py:state_remove(<<"cfg">>),
    [] = py:state_keys().

python_stores_and_erlang_reads(_Config) ->
    ok = py:exec(<<"from erlang import state_set, state_delete\n"
                   "state_set('py_key', {'message': 'hi', 'numbers': [1, 2, 3]})\n"
                   "state_set('gone', 1)\n"
                   "state_delete('gone')\n">>),
    {ok, #{<<"message">> := <<"hi">>, <<"numbers">> := [1, 2, 3]}} = py:state_fetch(<<"py_key">>),
    {error, not_found} = py:state_fetch(<<"gone">>),
    ok = py:exec(<<"erlang.state_clear()">>),
    [] = py:state_keys().

%% 8 Python threads x 500 increments and Erlang's own, on one new key: none lost.
counters_are_atomic_across_threads(_Config) ->
    1 = py:state_incr(<<"n">>),
    11 = py:state_incr(<<"n">>, 10),
    10 = py:state_decr(<<"n">>),
    5 = py:state_decr(<<"n">>, 5),
    ok = py:exec(<<"import threading\n"
                   "def bump():\n"
                   "    for _ in range(500):\n"
                   "        erlang.state_incr('hits')\n"
                   "ts = [threading.Thread(target=bump) for _ in range(8)]\n"
                   "[t.start() for t in ts]\n"
                   "[t.join() for t in ts]\n">>),
    {ok, 4000} = py:state_fetch(<<"hits">>),
    {ok, 3990} = py:eval(<<"erlang.state_decr('hits', 10)">>),
    ok = py:state_store(<<"text">>, <<"x">>),
    {error, {<<"ErlangError">>, _}} = py:eval(<<"erlang.state_incr('text')">>).

state_outlives_a_port_restart(_Config) ->
    ok = py:state_store(<<"kept">>, 42),
    {ok, OsPid} = py:call(os, getpid, []),
    Ref = monitor(process, whereis(py_coordinator)),
    os:cmd("kill -KILL " ++ integer_to_list(OsPid)),
    receive {'DOWN', Ref, process, _, _} -> ok after 5000 -> ct:fail(no_restart) end,
    {ok, 42} = py:eval(<<"erlang.state_get('kept')">>).

whereis_finds_registered_processes(_Config) ->
    Pid = whereis(py_coordinator),
    {ok, Pid} = py:eval(<<"erlang.whereis('py_coordinator')">>),
    {ok, none} = py:eval(<<"erlang.whereis('no_such_process_here')">>),
    {ok, none} = py:eval(<<"erlang.whereis('never an atom \\u00e9\\u00e9')">>),
    %% A message to the found process arrives.
    true = register(py_state_suite_test, self()),
    ok = py:exec(<<"erlang.send(erlang.whereis('py_state_suite_test'), ('hello', 1))">>),
    receive {<<"hello">>, 1} -> ok after 5000 -> ct:fail(no_message) end,
    true = unregister(py_state_suite_test),
    {error, {'TypeError', _}} = py:eval(<<"erlang.whereis(1)">>).

version_memory_stats_and_gc(_Config) ->
    {ok, Version} = py:version(),
    {ok, Version} = py:eval(<<"__import__('platform').python_version()">>),
    {ok, #{gc_stats := [_, _, _], gc_count := {_, _, _}, gc_threshold := {_, _, _}} = M} =
        py:memory_stats(),
    false = maps:is_key(traced_memory_current, M),
    ok = py:exec(<<"import tracemalloc; tracemalloc.start()">>),
    {ok, #{traced_memory_current := C, traced_memory_peak := P}} = py:memory_stats(),
    true = is_integer(C) andalso P >= C,
    ok = py:exec(<<"tracemalloc.stop()">>),
    {ok, N} = py:gc(),
    true = is_integer(N) andalso N >= 0,
    [{ok, _} = py:gc(G) || G <- [0, 1, 2]],
    {'EXIT', {function_clause, _}} = (catch py:gc(3)),
    ok.

reload_picks_up_a_changed_module(Config) ->
    File = filename:join(?config(priv_dir, Config), "reload_me.py"),
    ok = file:write_file(File, <<"VALUE = 1\n">>),
    ok = py:reload(reload_me), % not imported yet: imported
    {ok, 1} = py:eval(<<"__import__('reload_me').VALUE">>),
    ok = file:write_file(File, <<"VALUE = 2  # a different size, so the cached bytecode is stale\n">>),
    ok = py:reload(<<"reload_me">>),
    {ok, 2} = py:eval(<<"__import__('reload_me').VALUE">>),
    {error, {'ModuleNotFoundError', _}} = py:reload(no_such_module_here).

%% 50 processes race to add 10 keys each under a cap of 100: exactly 100
%% fit; replacing a value or removing a key keeps the count right.
max_state_entries_caps_new_keys_exactly(_Config) ->
    ok = application:set_env(erlang_python, max_state_entries, 100),
    try
        Self = self(),
        [spawn_link(fun() -> Self ! {done, [py:state_store({P, I}, I) || I <- lists:seq(1, 10)]} end)
         || P <- lists:seq(1, 50)],
        Results = lists:append([receive {done, R} -> R end || _ <- lists:seq(1, 50)]),
        100 = length([ok || ok <- Results]),
        400 = length([full || {error, full} <- Results]),
        100 = length(py:state_keys()),
        [K | _] = py:state_keys(),
        ok = py:state_store(K, replaced),
        {error, full} = py:state_store(one_more, 1),
        {error, {<<"ErlangError">>, Why}} = py:exec(<<"erlang.state_set('from_python', 1)">>),
        {match, _} = re:run(Why, "state_full"),
        ok = py:state_remove(K),
        ok = py:state_store(one_more, 1),
        {error, reserved_key} = py:state_store('$py_state_size$', 0)
    after
        ok = application:unset_env(erlang_python, max_state_entries)
    end.
