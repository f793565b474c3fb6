%% @doc C extension modules shipped by Debian load and work in the port,
%% whether it links the interpreter statically (its symbols exported to them)
%% or the shared libpython: `_ctypes', `_decimal', `numpy'.
%%
%% Python fixtures live in `py_extensions_SUITE_data/extension_fixtures.py'.
-module(py_extensions_SUITE).

-include_lib("common_test/include/ct.hrl").

-export([all/0, init_per_suite/1, end_per_suite/1]).
-export([ctypes_calls_libc_and_back_into_python/1,
         decimal_computes_exactly/1,
         numpy_computes_with_its_c_core/1,
         ctypes_sees_the_running_interpreter/1]).

-define(FIX, extension_fixtures).

-spec all() -> [atom()].
all() ->
    [ctypes_calls_libc_and_back_into_python,
     decimal_computes_exactly,
     numpy_computes_with_its_c_core,
     ctypes_sees_the_running_interpreter].

-spec init_per_suite(list()) -> list().
init_per_suite(Config) ->
    ok = application:load(erlang_python),
    ok = application:set_env(erlang_python, python_path, [?config(data_dir, Config)]),
    {ok, _} = application:ensure_all_started(erlang_python),
    Config.

-spec end_per_suite(list()) -> ok.
end_per_suite(_Config) ->
    _ = application:stop(erlang_python),
    ok.

-spec ctypes_calls_libc_and_back_into_python(list()) -> ok.
ctypes_calls_libc_and_back_into_python(_Config) ->
    {ok, {File, 3, [1, 2, 3, 4, 5], 1}} = py:call(?FIX, ctypes_check, []),
    true = is_extension_file(File),
    ok.

-spec decimal_computes_exactly(list()) -> ok.
decimal_computes_exactly(_Config) ->
    {ok, {File, <<"0.142857142857142857142857142857">>, <<"0.3">>}} =
        py:call(?FIX, decimal_check, []),
    true = is_extension_file(File),
    ok.

-spec numpy_computes_with_its_c_core(list()) -> ok.
numpy_computes_with_its_c_core(_Config) ->
    {ok, {File, 45, [[1.0, 0.0], [0.0, 1.0]]}} = py:call(?FIX, numpy_check, []),
    true = is_extension_file(File),
    ok.

-spec ctypes_sees_the_running_interpreter(list()) -> ok.
ctypes_sees_the_running_interpreter(_Config) ->
    {ok, <<"3.", _/binary>>} = py:call(?FIX, interpreter_is_not_a_second_copy, []),
    ok.

%% A compiled module (`.so' under lib-dynload or dist-packages), not a pure-Python stand-in.
-spec is_extension_file(binary()) -> boolean().
is_extension_file(File) ->
    binary:longest_common_suffix([File, <<".so">>]) =:= 3.
