%% @doc Top supervisor: the function registry, the stream registry, the pg scope, the pools,
%% then the handles' owner server.
%%
%% rest_for_one: a port crash restarts only its member (`py_pool_sup');
%% registered functions live in the registry and survive it.
-module(py_sup).
-behaviour(supervisor).

-export([start_link/0, init/1]).

-spec start_link() -> {ok, pid()} | {error, term()}.
start_link() ->
    supervisor:start_link({local, ?MODULE}, ?MODULE, []).

-spec init([]) -> {ok, {supervisor:sup_flags(), [supervisor:child_spec()]}}.
init([]) ->
    %% Owned by this process: the shared state outlives every child.
    ok = py_state:new_table(),
    {Intensity, Period} = application:get_env(erlang_python, restart_intensity, {10, 60}),
    StopGrace = application:get_env(erlang_python, stop_grace, 5000),
    Flags = #{strategy => rest_for_one, intensity => Intensity, period => Period},
    Children = [#{id => py_registry, start => {py_registry, start_link, []}},
                %% Before the coordinator: a port restart does not restart it,
                %% so it can tell stream owners that their port died.
                #{id => py_stream, start => {py_stream, start_link, []}},
                %% The pg scope pools' members join (py_dist).
                #{id => pg, start => {pg, start_link, [py_dist:scope()]}},
                #{id => py_pools_sup, start => {py_pools_sup, start_link, []},
                  type => supervisor,
                  %% Room for in-flight calls to finish (stop_grace), then the ports to exit.
                  shutdown => StopGrace + 4000},
                %% After the pools: the owners of object handles, for every
                %% member (a member's restart makes its handles stale).
                #{id => py_refs, start => {py_refs, start_link, []}}],
    {ok, {Flags, Children}}.
