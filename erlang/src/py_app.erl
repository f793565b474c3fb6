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
        ok ->
            ok = let_domain_through_default_handler(),
            %% Routes and run-time pools outlive restarts inside the tree,
            %% not a new start of the application.
            ok = py_pool:clear_routes(),
            py_sup:start_link();
        {error, _} = Error ->
            Error
    end.

-spec stop(term()) -> ok.
stop(_State) ->
    ok.

%% Python's output and logging records carry the logger domain
%% [erlang_python]. OTP's `default' handler logs only events without a
%% domain or in [otp]: a filter named erlang_python lets ours through too
%% (docs/guide/logging.md). It stays after a stop, ready for the next start.
let_domain_through_default_handler() ->
    Filter = {fun logger_filters:domain/2, {log, sub, [erlang_python]}},
    case logger:add_handler_filter(default, erlang_python, Filter) of
        ok -> ok;
        {error, _} -> ok   % no `default' handler, or the filter is there already
    end.
