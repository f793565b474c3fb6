%% @doc Starts erlang_python either as the project (the real port) or as the floor (the echo port in its place).
%%
%% The floor's app folder (`<build>/bench/floor/erlang_python') links `ebin'
%% to the real one and `priv/erlang_python_port' to the echo port; swapping
%% it onto the code path makes `code:priv_dir/1', and so the coordinator,
%% start the echo port: the same `py:call' -> coordinator -> caller path
%% with no Python behind it.
-module(py_bench_app).

-export([context/1, setup/1, use/2, start/2, stop/0]).

%% @doc Paths of one build tree.
-spec context(string()) -> map().
context(Build) ->
    #{build => Build,
      real_ebin => filename:join([Build, "lib", "erlang_python", "ebin"]),
      floor_ebin => filename:join([Build, "bench", "floor", "erlang_python", "ebin"]),
      echo => filename:join([Build, "bench", "echo_port"]),
      python_dir => filename:join([Build, "bench", "python"])}.

%% @doc Loads the application and points Python at the bench helpers.
-spec setup(map()) -> ok.
setup(#{build := Build, python_dir := PyDir}) ->
    ok = application:load(erlang_python),
    ok = application:set_env(erlang_python, python_path, [PyDir]),
    ok = application:set_env(erlang_python, env,
                             [{"PYTHONPYCACHEPREFIX", filename:join(Build, "pycache")}]),
    ok = application:set_env(erlang_python, call_timeout, 120000).

%% @doc (Re)starts the application as `project' or `floor' and registers `add'.
-spec start(project | floor, map()) -> ok.
start(Which, Ctx) ->
    ok = use(Which, Ctx),
    {ok, _} = application:ensure_all_started(erlang_python),
    ok = py:register_function(add, py_bench_run:add_function()).

%% @doc Stops the application and puts `project' or `floor' on the code path.
-spec use(project | floor, map()) -> ok.
use(Which, Ctx) ->
    ok = stop(),
    Ebin = maps:get(case Which of project -> real_ebin; floor -> floor_ebin end, Ctx),
    true = code:replace_path(erlang_python, Ebin),
    ok.

-spec stop() -> ok.
stop() ->
    case application:stop(erlang_python) of
        ok -> ok;
        {error, {not_started, _}} -> ok
    end.
