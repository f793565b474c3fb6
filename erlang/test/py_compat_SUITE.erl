%% @doc What code written for erlang_python and Elixir users expect, and bad
%% input refused before anything runs: NUL bytes in code and names, the
%% atoms of the type mapping on a fresh node, exception text that is not
%% valid Unicode, the `erlang' module's attribute form, `erlang' in eval and
%% exec, argument checks, the keys of py:stats(), and the none_atom setting.
%%
%% Python fixtures live in `py_compat_SUITE_data/compat_fixture.py'.
-module(py_compat_SUITE).

-include_lib("common_test/include/ct.hrl").

-export([all/0, init_per_suite/1, end_per_suite/1]).
-export([nul_in_code_is_value_error_and_runs_nothing/1,
         nul_in_call_names_is_value_error/1,
         fresh_node_decodes_every_atom_of_the_mapping/1,
         exception_text_that_is_not_unicode_is_escaped/1,
         attribute_form_knows_the_registered_names/1,
         registered_names_survive_a_port_restart/1,
         erlang_is_defined_in_eval_and_exec/1,
         bad_arguments_fail_in_the_caller_and_python_runs_nothing/1,
         stats_keys_are_the_documented_atoms/1,
         none_atom_setting_chooses_what_none_becomes/1]).

-define(FIX, compat_fixture).

all() ->
    [nul_in_code_is_value_error_and_runs_nothing,
     nul_in_call_names_is_value_error,
     fresh_node_decodes_every_atom_of_the_mapping,
     exception_text_that_is_not_unicode_is_escaped,
     attribute_form_knows_the_registered_names,
     registered_names_survive_a_port_restart,
     erlang_is_defined_in_eval_and_exec,
     bad_arguments_fail_in_the_caller_and_python_runs_nothing,
     stats_keys_are_the_documented_atoms,
     none_atom_setting_chooses_what_none_becomes].

init_per_suite(Config) ->
    ok = py_test_helper:start([?config(data_dir, Config)]),
    Config.

end_per_suite(_Config) ->
    py_test_helper:stop().

%% Python's compile() refuses source holding a NUL; so do eval and exec,
%% instead of running the text up to the NUL.
nul_in_code_is_value_error_and_runs_nothing(_Config) ->
    {error, {'ValueError', Why}} = py:eval(<<"1", 0, "+1">>),
    {match, _} = re:run(Why, <<"null bytes">>),
    {error, {'ValueError', _}} = py:exec(<<"nul_x = 1", 0, "; nul_y = 2">>),
    {error, {'ValueError', _}} = py:exec([$n, $u, $l, $_, $x, $=, $1, 0]),
    {ok, false} = py:eval(<<"'nul_x' in globals()">>),
    %% The same text without the NUL runs.
    {ok, 2} = py:eval(<<"1+1">>).

nul_in_call_names_is_value_error(_Config) ->
    {error, {'ValueError', M1}} = py:call(<<"os", 0, "path">>, join, [<<"a">>]),
    {match, _} = re:run(M1, <<"module name">>),
    {error, {'ValueError', M2}} = py:call(math, <<"sq", 0, "rt">>, [16]),
    {match, _} = re:run(M2, <<"function name">>),
    {error, {'ValueError', _}} = py:call("math", [$s, $q, 0], [16]),
    {ok, 4.0} = py:call(math, sqrt, [16]).

%% A node that never loaded this suite (whose code names nan & co.) must
%% still decode every atom the port writes: the application names them.
%% The expression given to the new node names none of them itself.
fresh_node_decodes_every_atom_of_the_mapping(Config) ->
    Ebin = filename:dirname(code:which(py)),
    Expr = "ok = application:load(erlang_python), "
           "ok = application:set_env(erlang_python, python_path, [\"" ++ ?config(data_dir, Config) ++ "\"]), "
           "{ok, _} = application:ensure_all_started(erlang_python), "
           "R = [py:eval(<<\"float('nan')\">>), py:eval(<<\"float('-inf')\">>), "
           "     py:eval(<<\"float('inf')\">>), py:eval(<<\"None\">>), "
           "     py:eval(<<\"1/0\">>), py:exec(<<\"import nosuchmodule_here\">>)], "
           "io:format(\"~s\", [base64:encode(term_to_binary(R))]), halt().",
    Out = run_erl(["-noshell", "-pa", Ebin, "-eval", Expr]),
    Results = binary_to_term(base64:decode(Out)),
    ct:pal("the fresh node's results: ~p", [Results]),
    [{ok, nan}, {ok, neg_infinity}, {ok, infinity}, {ok, none},
     {error, {'ZeroDivisionError', <<"division by zero">>}},
     {error, {'ModuleNotFoundError', <<"No module named 'nosuchmodule_here'">>}}] = Results.

%% A lone surrogate (what Python makes of an undecodable file name) keeps
%% its place as an escape, in the message and in the traceback.
exception_text_that_is_not_unicode_is_escaped(_Config) ->
    {error, {'ValueError', <<"bad \\udcff name">>}} =
        py:exec(<<"raise ValueError('bad \\udcff name')">>),
    Trace = py:last_traceback(),
    {match, _} = re:run(Trace, <<"ValueError: bad \\\\udcff name">>),
    %% The same text as a value is an error that says why.
    {error, {'UnicodeEncodeError', _}} = py:eval(<<"'bad \\udcff name'">>).

%% As erlang_python: hasattr(erlang, Name) is True only for a registered
%% name; from-imports and misspelt names of unregistered functions fail at
%% once, naming the name; erlang.call works for any name.
attribute_form_knows_the_registered_names(_Config) ->
    Has = <<"hasattr(__import__('erlang'), 'compat_double')">>,
    {ok, false} = py:eval(Has),
    ok = py:register_function(compat_double, fun([X]) -> 2 * X end),
    {ok, true} = py:eval(Has),
    {ok, 10} = py:eval(<<"__import__('erlang').compat_double(5)">>),
    {ok, true} = py:eval(<<"'compat_double' in dir(__import__('erlang'))">>),
    ok = py:exec(<<"from erlang import compat_double\ncompat_result = compat_double(21)\n">>),
    {ok, 42} = py:eval(<<"compat_result">>),
    {ok, 20} = py:eval(<<"__import__('erlang').call('compat_double', 10)">>),
    ok = py:unregister_function(compat_double),
    {ok, false} = py:eval(Has),
    {ok, false} = py:eval(<<"'compat_double' in dir(__import__('erlang'))">>),
    {error, {'ImportError', Import}} = py:exec(<<"from erlang import compat_double">>),
    {match, _} = re:run(Import, <<"compat_double">>),
    {error, {'AttributeError', Attr}} = py:eval(<<"__import__('erlang').async_cal">>),
    {match, _} = re:run(Attr, <<"async_cal">>),
    %% erlang.call leaves the check to Erlang.
    {error, {<<"ErlangError">>, NotReg}} = py:eval(<<"__import__('erlang').call('compat_double', 1)">>),
    {match, _} = re:run(NotReg, <<"compat_double">>),
    %% A registration made inside a callback (a handler process) is seen too.
    ok = py:register_function(compat_register, fun([]) ->
                                                       py:register_function(compat_inner, fun([]) -> 7 end)
                                               end),
    {ok, 7} = py:eval(<<"(erlang.compat_register(), erlang.compat_inner())[1]">>),
    ok = py:unregister_function(compat_register),
    ok = py:unregister_function(compat_inner).

registered_names_survive_a_port_restart(_Config) ->
    ok = py:register_function(compat_kept, fun([]) -> kept end),
    {ok, P0} = py:call(?FIX, os_pid, []),
    Ref = monitor(process, whereis(py_coordinator)),
    os:cmd("kill -KILL " ++ integer_to_list(P0)),
    receive {'DOWN', Ref, process, _, _} -> ok after 5000 -> ct:fail(port_not_restarted) end,
    {ok, P1} = py:call(?FIX, os_pid, []),
    true = P1 =/= P0,
    %% The new port knows the name before any request reaches it.
    {ok, true} = py:eval(<<"hasattr(erlang, 'compat_kept')">>),
    {ok, kept} = py:eval(<<"erlang.compat_kept()">>),
    ok = py:unregister_function(compat_kept).

%% erlang_python binds the module `erlang' in the namespace of eval and exec
%% (the calling process's own namespace); nothing is added to `__main__'.
erlang_is_defined_in_eval_and_exec(_Config) ->
    ok = application:stop(erlang_python),
    ok = application:start(erlang_python),
    ok = py:register_function(add, fun([A, B]) -> A + B end),
    {ok, Before} = py:call(?FIX, main_names, []),
    false = lists:member(<<"erlang">>, Before),
    {ok, 12} = py:eval(<<"erlang.call('add', 5, 7)">>),
    {ok, After} = py:call(?FIX, main_names, []),
    [] = After -- Before,
    {ok, true} = py:eval(<<"'erlang' in globals()">>),
    ok = py:exec(<<"def compat_add(a, b):\n    return erlang.add(a, b)\n">>),
    {ok, 3} = py:call('__main__', compat_add, [1, 2]),
    %% The name is the user's to rebind.
    ok = py:exec(<<"erlang = 5">>),
    {ok, 5} = py:eval(<<"erlang">>),
    ok = py:exec(<<"import erlang">>),
    ok = py:unregister_function(add).

%% Every bad argument is an error in the calling process; nothing is sent.
bad_arguments_fail_in_the_caller_and_python_runs_nothing(_Config) ->
    {ok, []} = py:call(?FIX, marks, []),
    Bad = [{function_clause, fun() -> py:call(?FIX, mark, [a], #{}, -5) end},
           {function_clause, fun() -> py:call(?FIX, mark, [b], #{}, foo) end},
           {function_clause, fun() -> py:call(?FIX, mark, [c], #{}, 1.5) end},
           {function_clause, fun() -> py:call(?FIX, mark, d) end},
           {function_clause, fun() -> py:call(?FIX, mark, [e], [{k, 1}]) end},
           {badarg, fun() -> py:call(?FIX, mark, [f | g]) end},
           {badarg, fun() -> py:call(?FIX, mark, [h], #{"key" => 1}) end},
           {badarg, fun() -> py:call(?FIX, mark, [i], #{1 => 1}) end},
           {function_clause, fun() -> py:call(?FIX, 42, [j]) end},
           {badarg, fun() -> py:call(?FIX, [-1], [k]) end},
           {function_clause, fun() -> py:eval(<<"compat_fixture.mark('l')">>, [{x, 1}]) end},
           {function_clause, fun() -> py:eval(<<"1">>, #{}, -1) end},
           {function_clause, fun() -> py:eval(42) end},
           {function_clause, fun() -> py:exec(<<"import compat_fixture; compat_fixture.mark('m')">>, -1) end},
           {function_clause, fun() -> py:exec(<<"x = 1">>, infinite) end},
           {function_clause, fun() -> py:exec({code}) end},
           {badarg, fun() -> py:exec([16#110000]) end}],
    [{Why, _} = {Why, catch_error(F)} || {Why, F} <- Bad],
    {ok, []} = py:call(?FIX, marks, []),
    #{pending_calls := 0, cancelling := 0} = py:stats(),
    %% The good forms still work.
    {ok, n} = py:call(?FIX, mark, [n], #{}, infinity),
    {ok, o} = py:call(?FIX, mark, [o], #{}, 5000),
    {ok, [n, o]} = py:call(?FIX, marks, []).

%% One key type, and exactly the keys the README lists.
stats_keys_are_the_documented_atoms(_Config) ->
    Stats = #{port := Port} = py:stats(),
    [cancelled, cancelling, channels, handlers, handles, in_flight_callbacks, incarnation, index,
     late_replies, namespaces, os_pid, pending_calls, pool, pools, port,
     python_version] = lists:sort(maps:keys(Stats)),
    [channels, channels_in_use, executor_threads, handles, handles_released_early,
     log_records_dropped, log_records_sent,
     max_executor_threads, namespaces, parked_reading_takeovers, requests_queued, threads_peak,
     threads_running] = lists:sort(maps:keys(Port)),
    #{pools := #{default := #{size := 1, namespaces := _, members := [Member]}}} = Stats,
    [executors, index, namespaces, os_pid, pending, restarts] = lists:sort(maps:keys(Member)).

%% Elixir code wants nil back for None; the setting is checked at start.
none_atom_setting_chooses_what_none_becomes(_Config) ->
    ok = application:stop(erlang_python),
    ok = application:set_env(erlang_python, none_atom, nil),
    try
        ok = application:start(erlang_python),
        {ok, nil} = py:eval(<<"None">>),
        {ok, [nil, #{<<"k">> := nil}]} = py:eval(<<"[None, {'k': None}]">>),
        %% Erlang's none, nil and undefined all still arrive as None.
        {ok, [true, true, true]} = py:eval(<<"[v is None for v in vs]">>, #{vs => [none, nil, undefined]}),
        {ok, nil} = py:call(?FIX, identity, [none]),
        ok = application:stop(erlang_python),
        ok = application:set_env(erlang_python, none_atom, undefined),
        ok = application:start(erlang_python),
        {ok, undefined} = py:call(?FIX, identity, [nil]),
        ok = application:stop(erlang_python),
        ok = application:set_env(erlang_python, none_atom, null),
        {error, {{bad_config, none_atom, null, _}, _}} = application:start(erlang_python)
    after
        _ = application:stop(erlang_python),
        ok = application:set_env(erlang_python, none_atom, none),
        ok = application:start(erlang_python)
    end,
    {ok, none} = py:eval(<<"None">>).

%% Internal.

catch_error(F) ->
    try F() of
        Result -> {returned, Result}
    catch
        error:Reason -> Reason
    end.

%% Runs `erl' with Args and returns what it printed on stdout.
run_erl(Args) ->
    Erl = os:find_executable("erl"),
    Port = open_port({spawn_executable, Erl},
                     [{args, Args}, exit_status, binary, stderr_to_stdout, hide]),
    collect(Port, []).

collect(Port, Acc) ->
    receive
        {Port, {data, Data}} -> collect(Port, [Acc, Data]);
        {Port, {exit_status, 0}} -> binary_to_list(iolist_to_binary(Acc));
        {Port, {exit_status, N}} -> ct:fail({erl_failed, N, iolist_to_binary(Acc)})
    after 60000 ->
        ct:fail({erl_timeout, iolist_to_binary(Acc)})
    end.
