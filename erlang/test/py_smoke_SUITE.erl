-module(py_smoke_SUITE).
-include_lib("common_test/include/ct.hrl").
-export([all/0, init_per_suite/1, end_per_suite/1, sqrt/1]).

all() -> [sqrt].

init_per_suite(Config) ->
    {ok, _} = application:ensure_all_started(erlang_python),
    Config.

end_per_suite(_Config) ->
    ok = application:stop(erlang_python).

sqrt(_Config) ->
    {ok, 4.0} = py:call(math, sqrt, [16]).
