%% @doc The erlang_python application: starts the supervision tree.
-module(py_app).
-behaviour(application).

-export([start/2, stop/1]).

-spec start(application:start_type(), term()) -> {ok, pid()} | {error, term()}.
start(_Type, _Args) ->
    %% Loads the modules that name every atom a reply can hold, so that a
    %% fresh node decodes float('nan') and the exception classes.
    _ = py_protocol:port_atoms(),
    _ = py_errors:builtin_classes(),
    case py_config:check() of
        ok -> py_sup:start_link();
        {error, _} = Error -> Error
    end.

-spec stop(term()) -> ok.
stop(_State) ->
    ok.
