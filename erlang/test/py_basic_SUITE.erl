%% @doc The basic contract of the `py' API: calls, type round trips, eval and
%% exec, error shapes, timeouts, stdout safety, concurrency and restart.
%%
%% Python fixtures live in `py_basic_SUITE_data/py_basic_fixtures.py', put on
%% `sys.path' through the `python_path' application variable.
-module(py_basic_SUITE).

-include_lib("common_test/include/ct.hrl").

-export([all/0, init_per_suite/1, end_per_suite/1]).
-export([call_with_atom_names/1,
         call_with_binary_names/1,
         call_with_string_names/1,
         call_dotted_module/1,
         call_with_kwargs/1,
         call_with_timeout/1,
         call_times_out_on_slow_function/1,
         bignums_round_trip/1,
         unicode_text_round_trips/1,
         nested_containers_round_trip/1,
         string_list_arrives_as_list/1,
         floats_round_trip/1,
         special_floats_become_atoms/1,
         booleans_and_none_round_trip/1,
         ten_megabyte_binary_round_trips/1,
         large_text_and_bytes_keep_their_type/1,
         empty_containers_round_trip/1,
         eval_without_locals/1,
         eval_with_locals/1,
         eval_with_timeout/1,
         exec_defines_function_for_eval_and_call/1,
         missing_module_is_module_not_found_error/1,
         missing_function_is_attribute_error/1,
         syntax_error_in_eval/1,
         zero_division_error/1,
         custom_exception_class_is_binary/1,
         custom_exception_classes_mint_no_atoms/1,
         last_traceback_is_formatted/1,
         args_not_a_list_is_function_clause_in_caller/1,
         unconvertible_result_is_type_error/1,
         stdout_writes_leave_protocol_intact/1,
         concurrent_calls_get_their_own_answers/1,
         stats_show_no_pending_calls_when_idle/1,
         infinite_loop_times_out_promptly/1,
         restart_gives_working_port/1,
         erlang_package_is_imported_on_first_use/1,
         bad_configuration_stops_the_start_with_a_clear_error/1]).

-define(FIX, py_basic_fixtures).

all() ->
    [call_with_atom_names,
     call_with_binary_names,
     call_with_string_names,
     call_dotted_module,
     call_with_kwargs,
     call_with_timeout,
     call_times_out_on_slow_function,
     bignums_round_trip,
     unicode_text_round_trips,
     nested_containers_round_trip,
     string_list_arrives_as_list,
     floats_round_trip,
     special_floats_become_atoms,
     booleans_and_none_round_trip,
     ten_megabyte_binary_round_trips,
     large_text_and_bytes_keep_their_type,
     empty_containers_round_trip,
     eval_without_locals,
     eval_with_locals,
     eval_with_timeout,
     exec_defines_function_for_eval_and_call,
     missing_module_is_module_not_found_error,
     missing_function_is_attribute_error,
     syntax_error_in_eval,
     zero_division_error,
     custom_exception_class_is_binary,
     custom_exception_classes_mint_no_atoms,
     last_traceback_is_formatted,
     args_not_a_list_is_function_clause_in_caller,
     unconvertible_result_is_type_error,
     stdout_writes_leave_protocol_intact,
     concurrent_calls_get_their_own_answers,
     stats_show_no_pending_calls_when_idle,
     %% If the timeout does not interrupt the loop, its executor thread is
     %% only freed by the restart that follows: keep these two last, together.
     infinite_loop_times_out_promptly,
     restart_gives_working_port,
     erlang_package_is_imported_on_first_use,
     bad_configuration_stops_the_start_with_a_clear_error].

init_per_suite(Config) ->
    DataDir = ?config(data_dir, Config),
    %% Loading first: environment set before the load would be overwritten
    %% by the defaults in the .app file.
    ok = application:load(erlang_python),
    ok = application:set_env(erlang_python, python_path, [DataDir]),
    {ok, _} = application:ensure_all_started(erlang_python),
    Config.

end_per_suite(_Config) ->
    _ = application:stop(erlang_python),
    ok.

%% Calls.

call_with_atom_names(_Config) ->
    {ok, 4.0} = py:call(math, sqrt, [16]),
    {ok, 1024} = py:call(operator, pow, [2, 10]).

call_with_binary_names(_Config) ->
    {ok, 4.0} = py:call(<<"math">>, <<"sqrt">>, [16]),
    {ok, 3} = py:call(<<"operator">>, <<"add">>, [1, 2]).

call_with_string_names(_Config) ->
    {ok, 4.0} = py:call("math", "sqrt", [16]),
    {ok, 3} = py:call("operator", "add", [1, 2]).

call_dotted_module(_Config) ->
    {ok, <<"a/b">>} = py:call('os.path', join, [<<"a">>, <<"b">>]),
    {ok, <<"c.txt">>} = py:call(<<"os.path">>, <<"basename">>, [<<"/a/b/c.txt">>]).

call_with_kwargs(_Config) ->
    Expected = <<"{\n  \"a\": [\n    1,\n    2\n  ]\n}">>,
    {ok, Expected} = py:call(json, dumps, [#{<<"a">> => [1, 2]}], #{indent => 2}),
    %% Binary keys work as well as atoms.
    {ok, Expected} = py:call(json, dumps, [#{<<"a">> => [1, 2]}], #{<<"indent">> => 2}),
    {ok, <<"{\"a\": 1, \"b\": 2}">>} =
        py:call(json, dumps, [#{<<"b">> => 2, <<"a">> => 1}], #{sort_keys => true}).

call_with_timeout(_Config) ->
    {ok, 4.0} = py:call(math, sqrt, [16], #{}, 5000),
    {ok, 2.0} = py:call(math, sqrt, [4], #{}, infinity).

call_times_out_on_slow_function(_Config) ->
    %% time.sleep releases its executor thread after a second on its own.
    T0 = erlang:monotonic_time(millisecond),
    {error, timeout} = py:call(time, sleep, [1], #{}, 100),
    Elapsed = erlang:monotonic_time(millisecond) - T0,
    true = Elapsed >= 100,
    true = Elapsed < 1000,
    {ok, 4.0} = py:call(math, sqrt, [16]).

%% Round trips through identity/1.

bignums_round_trip(_Config) ->
    Big = 1 bsl 100,
    NegBig = -(1 bsl 70),
    Big = 1267650600228229401496703205376,
    %% Erlang -> Python -> Erlang.
    {ok, Big} = py:call(?FIX, identity, [Big]),
    {ok, NegBig} = py:call(?FIX, identity, [NegBig]),
    {ok, <<"int">>} = py:call(?FIX, type_name, [Big]),
    %% Erlang -> Python: the value Python sees is exact.
    {ok, true} = py:eval(<<"x == 2**100 and y == -(2**70)">>, #{x => Big, y => NegBig}),
    %% Python -> Erlang.
    {ok, Big} = py:eval(<<"2**100">>),
    {ok, NegBig} = py:eval(<<"-(2**70)">>),
    %% Around the 64-bit edges.
    Edges = [(1 bsl 63) - 1, 1 bsl 63, -(1 bsl 63), -(1 bsl 63) - 1, 1 bsl 64],
    [{ok, E} = py:call(?FIX, identity, [E]) || E <- Edges],
    ok.

unicode_text_round_trips(_Config) ->
    Text = <<"héllo wörld ✓ 日本"/utf8>>,
    {ok, Text} = py:call(?FIX, identity, [Text]),
    {ok, <<"str">>} = py:call(?FIX, type_name, [Text]),
    {ok, 16} = py:eval(<<"len(s)">>, #{s => Text}),
    {ok, <<"café 日本"/utf8>>} = py:eval(<<"'caf\\u00e9 \\u65e5\\u672c'">>),
    Emoji = <<"😀"/utf8>>,
    {ok, Emoji} = py:call(?FIX, identity, [Emoji]),
    {ok, 1} = py:eval(<<"len(s)">>, #{s => Emoji}).

nested_containers_round_trip(_Config) ->
    Nested = #{<<"list">> => [1, [2, [3, []]], {hello, <<"b">>}],
               <<"tuple">> => {1, {2, {}}, [#{}]},
               42 => #{key => value, <<"deep">> => [#{<<"x">> => {1.5, [true]}}]},
               {1, 2} => [none, -7]},
    {ok, Nested} = py:call(?FIX, identity, [Nested]),
    {ok, <<"dict">>} = py:call(?FIX, type_name, [Nested]),
    {ok, <<"tuple">>} = py:call(?FIX, type_name, [{1, 2}]),
    FromPython = [1, [2, 3], {4, 5}, #{6 => 7}],
    {ok, FromPython} = py:eval(<<"[1, [2, 3], (4, 5), {6: 7}]">>).

string_list_arrives_as_list(_Config) ->
    %% [1,2,3] is encoded as STRING_EXT: it must still be a Python list of ints.
    {ok, [1, 2, 3]} = py:call(?FIX, identity, [[1, 2, 3]]),
    {ok, <<"list">>} = py:call(?FIX, type_name, [[1, 2, 3]]),
    {ok, true} = py:eval(<<"x == [1, 2, 3]">>, #{x => [1, 2, 3]}),
    {ok, "abc"} = py:call(?FIX, identity, ["abc"]),
    {ok, [97, 98, 99]} = py:eval(<<"x">>, #{x => "abc"}).

floats_round_trip(_Config) ->
    Floats = [0.0, 1.0, -1.5, 0.1, 3.141592653589793, 1.0e300, -2.5e-300,
              5.0e-324, 1.7976931348623157e308],
    [{ok, F} = py:call(?FIX, identity, [F]) || F <- Floats],
    {ok, <<"float">>} = py:call(?FIX, type_name, [1.0]),
    {ok, 0.30000000000000004} = py:eval(<<"0.1 + 0.2">>),
    {ok, true} = py:eval(<<"x == 0.1">>, #{x => 0.1}).

special_floats_become_atoms(_Config) ->
    {ok, nan} = py:eval(<<"float('nan')">>),
    {ok, infinity} = py:eval(<<"float('inf')">>),
    {ok, neg_infinity} = py:eval(<<"float('-inf')">>).

booleans_and_none_round_trip(_Config) ->
    {ok, true} = py:call(?FIX, identity, [true]),
    {ok, false} = py:call(?FIX, identity, [false]),
    {ok, none} = py:call(?FIX, identity, [none]),
    {ok, <<"bool">>} = py:call(?FIX, type_name, [true]),
    {ok, <<"bool">>} = py:call(?FIX, type_name, [false]),
    {ok, <<"NoneType">>} = py:call(?FIX, type_name, [none]),
    {ok, <<"NoneType">>} = py:call(?FIX, type_name, [nil]),
    {ok, <<"NoneType">>} = py:call(?FIX, type_name, [undefined]),
    {ok, none} = py:call(?FIX, identity, [undefined]),
    {ok, true} = py:eval(<<"1 < 2">>),
    {ok, false} = py:eval(<<"1 > 2">>),
    {ok, none} = py:eval(<<"None">>).

ten_megabyte_binary_round_trips(_Config) ->
    Size = 10 * 1024 * 1024,
    Bin = random_bytes(Size),
    Size = byte_size(Bin),
    {ok, Bin} = py:call(?FIX, identity, [Bin]),
    {ok, <<"bytes">>} = py:call(?FIX, type_name, [Bin]),
    {ok, Size} = py:eval(<<"len(b)">>, #{b => Bin}).

%% Binaries of 64 KiB and more take the port's large-binary path (a UTF-8
%% check first, huge pages): UTF-8 text is str, one bad sequence anywhere
%% makes it bytes, {bytes, Text} forces bytes, and all come back unchanged.
large_text_and_bytes_keep_their_type(_Config) ->
    Text = binary:copy(<<"h", 16#c3, 16#a9, "llo ", 16#e2, 16#82, 16#ac, " ",
                         16#f0, 16#9f, 16#98, 16#80>>, 500000),
    Chars = length(unicode:characters_to_list(Text)),
    {ok, <<"str">>} = py:call(?FIX, type_name, [Text]),
    {ok, Chars} = py:eval(<<"len(s)">>, #{s => Text}),
    {ok, Text} = py:call(?FIX, identity, [Text]),
    CutAtEnd = <<Text/binary, 16#e2, 16#82>>,
    BadAtStart = <<255, Text/binary>>,
    Surrogate = <<Text/binary, 16#ed, 16#a0, 16#80, "tail">>,
    [begin
         {ok, <<"bytes">>} = py:call(?FIX, type_name, [Bad]),
         {ok, Bad} = py:call(?FIX, identity, [Bad])
     end || Bad <- [CutAtEnd, BadAtStart, Surrogate]],
    {ok, <<"bytes">>} = py:call(?FIX, type_name, [{bytes, Text}]),
    {ok, Text} = py:call(?FIX, identity, [{bytes, Text}]).

empty_containers_round_trip(_Config) ->
    {ok, []} = py:call(?FIX, identity, [[]]),
    {ok, #{}} = py:call(?FIX, identity, [#{}]),
    {ok, {}} = py:call(?FIX, identity, [{}]),
    {ok, <<>>} = py:call(?FIX, identity, [<<>>]),
    {ok, <<"list">>} = py:call(?FIX, type_name, [[]]),
    {ok, <<"dict">>} = py:call(?FIX, type_name, [#{}]),
    {ok, <<"tuple">>} = py:call(?FIX, type_name, [{}]),
    {ok, {[], #{}, {}}} = py:eval(<<"([], {}, ())">>).

%% eval and exec.

eval_without_locals(_Config) ->
    {ok, 3} = py:eval(<<"1 + 2">>),
    {ok, 6} = py:eval("sum([1, 2, 3])"),
    {ok, <<"abcabc">>} = py:eval(<<"'abc' * 2">>).

eval_with_locals(_Config) ->
    {ok, 42} = py:eval(<<"x * 2">>, #{x => 21}),
    {ok, <<"ab">>} = py:eval(<<"a + b">>, #{a => <<"a">>, <<"b">> => <<"b">>}),
    %% Locals of one eval do not leak into the next.
    {error, {'NameError', _}} = py:eval(<<"x">>).

eval_with_timeout(_Config) ->
    {ok, 45} = py:eval(<<"sum(range(10))">>, #{}, 5000),
    {ok, 10} = py:eval(<<"n + 1">>, #{n => 9}, infinity),
    T0 = erlang:monotonic_time(millisecond),
    {error, timeout} = py:eval(<<"__import__('time').sleep(1)">>, #{}, 100),
    true = erlang:monotonic_time(millisecond) - T0 < 1000,
    {ok, 2} = py:eval(<<"1 + 1">>).

exec_defines_function_for_eval_and_call(_Config) ->
    ok = py:exec(<<"def py_basic_triple(x):\n    return x * 3\n">>),
    {ok, 21} = py:eval(<<"py_basic_triple(7)">>),
    {ok, 21} = py:eval(<<"py_basic_triple(n)">>, #{n => 7}),
    {ok, 30} = py:call('__main__', py_basic_triple, [10]),
    {ok, <<"xyxyxy">>} = py:call(<<"__main__">>, <<"py_basic_triple">>, [<<"xy">>]),
    ok = py:exec("py_basic_counter = 41", 5000),
    {ok, 42} = py:eval(<<"py_basic_counter + 1">>).

%% Errors.

missing_module_is_module_not_found_error(_Config) ->
    {error, {'ModuleNotFoundError', <<"No module named 'py_basic_no_such_module'">>}} =
        py:call(py_basic_no_such_module, f, []).

missing_function_is_attribute_error(_Config) ->
    {error, {'AttributeError', <<"module 'math' has no attribute 'no_such_function'">>}} =
        py:call(math, no_such_function, []).

syntax_error_in_eval(_Config) ->
    {error, {'SyntaxError', Msg}} = py:eval(<<"1 +">>),
    true = is_binary(Msg),
    {error, {'SyntaxError', _}} = py:exec(<<"def (:">>).

zero_division_error(_Config) ->
    {error, {'ZeroDivisionError', <<"division by zero">>}} = py:eval(<<"1 / 0">>),
    {error, {'ZeroDivisionError', _}} = py:call(operator, truediv, [1, 0]).

custom_exception_class_is_binary(_Config) ->
    {error, {<<"PyBasicCustomError">>, <<"custom message ✓"/utf8>>}} =
        py:call(?FIX, raise_custom, [<<"PyBasicCustomError">>, <<"custom message ✓"/utf8>>]).

custom_exception_classes_mint_no_atoms(_Config) ->
    Prefix = <<"PyBasicUnmintedError", (integer_to_binary(erlang:unique_integer([positive])))/binary, "_">>,
    Names = [<<Prefix/binary, (integer_to_binary(N))/binary>> || N <- lists:seq(1, 100)],
    %% Warm up the code paths (module loading creates atoms) before counting.
    {error, {<<"PyBasicWarmUpError">>, <<"warm">>}} =
        py:call(?FIX, raise_custom, [<<"PyBasicWarmUpError">>, <<"warm">>]),
    Before = erlang:system_info(atom_count),
    Classes = [begin
                   {error, {Class, <<"boom">>}} = py:call(?FIX, raise_custom, [Name, <<"boom">>]),
                   Class
               end || Name <- Names],
    After = erlang:system_info(atom_count),
    Names = Classes,
    Before = After,
    [{'EXIT', {badarg, _}} = (catch binary_to_existing_atom(N, utf8)) || N <- Names],
    ok.

last_traceback_is_formatted(_Config) ->
    {error, {<<"PyBasicTracedError">>, <<"traced">>}} =
        py:call(?FIX, raise_custom, [<<"PyBasicTracedError">>, <<"traced">>]),
    TB = py:last_traceback(),
    true = is_binary(TB),
    {_, _} = binary:match(TB, <<"Traceback">>),
    {_, _} = binary:match(TB, <<"raise_custom">>),
    {_, _} = binary:match(TB, <<"PyBasicTracedError: traced">>),
    {error, {'ZeroDivisionError', _}} = py:eval(<<"1 / 0">>),
    TB2 = py:last_traceback(),
    {_, _} = binary:match(TB2, <<"Traceback">>),
    {_, _} = binary:match(TB2, <<"ZeroDivisionError">>).

args_not_a_list_is_function_clause_in_caller(_Config) ->
    Coordinator = whereis(py_coordinator),
    true = is_pid(Coordinator),
    try py:call(math, sqrt, 16) of
        Result -> ct:fail({expected_function_clause, Result})
    catch
        error:function_clause:Stack ->
            [{py, call, _, _} | _] = Stack
    end,
    try py:call(math, sqrt, [16], [not_a_map]) of
        Result2 -> ct:fail({expected_function_clause, Result2})
    catch
        error:function_clause -> ok
    end,
    Coordinator = whereis(py_coordinator),
    {ok, 4.0} = py:call(math, sqrt, [16]),
    Coordinator = whereis(py_coordinator).

unconvertible_result_is_type_error(_Config) ->
    {error, {'TypeError', Msg}} = py:eval(<<"__import__('socket').socket()">>),
    {_, _} = binary:match(Msg, <<"socket">>),
    {error, {'TypeError', Msg2}} = py:call(socket, socket, []),
    {_, _} = binary:match(Msg2, <<"socket">>),
    {ok, 4.0} = py:call(math, sqrt, [16]).

%% Robustness.

stdout_writes_leave_protocol_intact(_Config) ->
    {ok, <<"after print">>} = py:call(?FIX, noisy, [<<"after print">>]),
    {ok, 4.0} = py:call(math, sqrt, [16]),
    ok = py:exec(<<"print('print() from exec'); import os; os.write(1, b'fd 1 from exec\\n')">>),
    {ok, 3} = py:eval(<<"1 + 2">>),
    {ok, [1, 2]} = py:call(?FIX, noisy, [[1, 2]]),
    {ok, <<"a/b">>} = py:call('os.path', join, [<<"a">>, <<"b">>]).

concurrent_calls_get_their_own_answers(_Config) ->
    Self = self(),
    Workers = [spawn_monitor(fun() ->
                   Results = [{P, I, py:call(operator, add, [P * 1000, I])}
                              || I <- lists:seq(1, 10)],
                   Self ! {results, self(), Results}
               end) || P <- lists:seq(1, 100)],
    Got = collect(Workers, []),
    1000 = length(Got),
    Expected = [{P, I, {ok, P * 1000 + I}} || P <- lists:seq(1, 100), I <- lists:seq(1, 10)],
    Expected = lists:sort(Got).

stats_show_no_pending_calls_when_idle(_Config) ->
    {ok, _} = py:call(math, sqrt, [16]),
    #{pending_calls := 0, in_flight_callbacks := 0, port := Port} = py:stats(),
    true = is_map(Port).

infinite_loop_times_out_promptly(_Config) ->
    T0 = erlang:monotonic_time(millisecond),
    {error, timeout} = py:exec(<<"while True: pass">>, 300),
    Elapsed = erlang:monotonic_time(millisecond) - T0,
    true = Elapsed >= 300,
    true = Elapsed < 2000,
    %% The port still answers while that thread loops.
    {ok, 4.0} = py:call(math, sqrt, [16]),
    {ok, 3} = py:eval(<<"1 + 2">>),
    #{pending_calls := 0} = py:stats().

restart_gives_working_port(_Config) ->
    Old = whereis(py_coordinator),
    true = is_pid(Old),
    ok = application:stop(erlang_python),
    {error, not_started} = py:call(math, sqrt, [16]),
    ok = application:start(erlang_python),
    New = whereis(py_coordinator),
    true = is_pid(New) andalso New =/= Old,
    {ok, 4.0} = py:call(math, sqrt, [16]),
    %% The python_path survives the restart.
    {ok, 7} = py:call(?FIX, identity, [7]).

%% The port does not import the `erlang' package at start-up (it would cost
%% start-up time and idle memory); the first value that needs one of its
%% classes imports it, and user code may import it at any time.
%% Start-up and plain calls stay at a bare interpreter's cost. (The first
%% eval or exec is a use too: it binds `erlang' in their namespace, as
%% erlang_python does; so this asks through py:call.)
erlang_package_is_imported_on_first_use(_Config) ->
    ok = application:stop(erlang_python),
    ok = application:start(erlang_python),
    {ok, false} = py:call(?FIX, imported, [<<"erlang">>]),
    {ok, [1, 2.5, <<"text">>, true, none]} = py:call(?FIX, identity, [[1, 2.5, <<"text">>, true, none]]),
    {ok, false} = py:call(?FIX, imported, [<<"erlang">>]),
    %% An atom other than true/false/none decodes to erlang.Atom.
    {ok, <<"Atom">>} = py:call(?FIX, type_name, [some_atom]),
    {ok, true} = py:call(?FIX, imported, [<<"erlang">>]),
    {ok, <<"Atom">>} = py:eval(<<"erlang.Atom.__name__">>).

%% A bad value in the application environment stops the start at once with
%% {bad_config, Key, Value, Expected}; the port is not started for it.
bad_configuration_stops_the_start_with_a_clear_error(_Config) ->
    ok = application:stop(erlang_python),
    Bad = [{max_frame_size, 3 bsl 30}, {max_frame_size, 10}, {executor_threads, 0},
           {executor_threads, many}, {call_timeout, -1}, {max_memory, 100},
           {python_path, "/not/a/list/of/folders"}, {env, [{"A", 1}]},
           {output, stdout}, {restart_intensity, {10, 0}}],
    [begin
         {ok, Good} = application:get_env(erlang_python, Key),
         ok = application:set_env(erlang_python, Key, Value),
         {error, {{bad_config, Key, Value, Expected}, _}} = application:start(erlang_python),
         true = is_binary(Expected),
         undefined = whereis(py_coordinator),
         ok = application:set_env(erlang_python, Key, Good)
     end || {Key, Value} <- Bad],
    %% The largest frame size allowed still starts, and the port takes it.
    ok = application:set_env(erlang_python, max_frame_size, py_config:max_frame_limit()),
    ok = application:start(erlang_python),
    {ok, 4.0} = py:call(math, sqrt, [16]),
    ok = application:stop(erlang_python),
    ok = application:set_env(erlang_python, max_frame_size, 1 bsl 30),
    ok = application:start(erlang_python).

%% Internal.

collect([], Acc) ->
    Acc;
collect(Workers, Acc) ->
    receive
        {results, Pid, Results} ->
            {value, {Pid, Ref}, Rest} = lists:keytake(Pid, 1, Workers),
            erlang:demonitor(Ref, [flush]),
            collect(Rest, Results ++ Acc);
        {'DOWN', _, process, Pid, Reason} ->
            ct:fail({worker_died, Pid, Reason})
    after 60000 ->
        ct:fail({workers_silent, length(Workers)})
    end.

random_bytes(Size) ->
    case code:which(crypto) of
        non_existing ->
            Pattern = <<"0123456789abcdef", 255, 0, 128>>,
            binary:part(binary:copy(Pattern, Size div byte_size(Pattern) + 1), 0, Size);
        _ ->
            {ok, _} = application:ensure_all_started(crypto),
            crypto:strong_rand_bytes(Size)
    end.
