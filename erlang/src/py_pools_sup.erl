%% @doc Supervisor of every pool: one `py_pool_sup' child per pool, the configured ones from the start.
%%
%% The pools of the `pools' setting (and `default', always) are its
%% children from the start; `py:start_pool/2' adds more and
%% `py:stop_pool/1' removes them. A pool whose members fail faster than its
%% `restart_intensity' stops; this supervisor then gives up at once (its
%% own intensity is 0), and `py_sup' restarts every pool, as it restarted
%% the one port before pools: the configured ones and those started at run
%% time and not stopped (`py_pool:run_time_pools/0', kept outside the
%% tree), with the settings they were started with.
-module(py_pools_sup).
-behaviour(supervisor).

-export([start_link/0, start_pool/2, stop_pool/1, pool_sup/1]).
-export([init/1]).

%% API.

-spec start_link() -> {ok, pid()} | {error, term()}.
start_link() ->
    supervisor:start_link({local, ?MODULE}, ?MODULE, []).

%% @doc Starts a pool with checked settings (py_config:pool_settings/2).
-spec start_pool(atom(), map()) -> {ok, pid()} | {error, term()}.
start_pool(Name, Settings) ->
    case supervisor:start_child(?MODULE, child(Name, Settings)) of
        {ok, Pid} -> {ok, Pid};
        {error, {already_started, _}} -> {error, {already_started, Name}};
        {error, already_present} -> {error, {already_started, Name}};
        %% A member that could not start: its own reason.
        {error, {{shutdown, {failed_to_start_child, _, Reason}}, _Child}} -> {error, Reason};
        {error, {Reason, _Child}} -> {error, Reason};
        {error, _} = Error -> Error
    end.

%% @doc Stops pool Name and forgets it.
-spec stop_pool(atom()) -> ok | {error, {no_pool, atom()}}.
stop_pool(Name) ->
    case supervisor:terminate_child(?MODULE, {pool, Name}) of
        ok ->
            ok = supervisor:delete_child(?MODULE, {pool, Name});
        {error, not_found} ->
            {error, {no_pool, Name}}
    end.

%% @doc The supervisor of pool Name, if it runs.
-spec pool_sup(atom()) -> pid() | undefined.
pool_sup(Name) ->
    Children = try supervisor:which_children(?MODULE) catch exit:_ -> [] end,
    case lists:keyfind({pool, Name}, 1, Children) of
        {_, Pid, _, _} when is_pid(Pid) -> Pid;
        _ -> undefined
    end.

%% supervisor.

-spec init([]) -> {ok, {supervisor:sup_flags(), [supervisor:child_spec()]}}.
init([]) ->
    ok = await_old_pools(),
    %% Checked by py_config:check/0 when the application started.
    {ok, Pools} = py_config:configured_pools(),
    RunTime = [P || P = {Name, _} <- py_pool:run_time_pools(), not lists:keymember(Name, 1, Pools)],
    {ok, {#{strategy => one_for_one, intensity => 0, period => 1},
          [child(Name, Settings) || {Name, Settings} <- Pools ++ RunTime]}}.

%% Internal.

%% A restart after this supervisor was killed: its pools' supervisors are
%% still stopping their members (each unpublishes its port, the keeper its
%% pool, as it stops), and new pools of the same names would publish under
%% the same keys meanwhile and be unpublished by the old ones. So the new
%% pools start once the old ones are gone: waited for as long as a stop
%% may take (`stop_grace' and the ports' exit), then killed.
await_old_pools() ->
    Old = [Sup || Pool <- py_pool:pools(), {ok, #{sup := Sup}} <- [py_pool:settings(Pool)],
                  is_process_alive(Sup)],
    Grace = application:get_env(erlang_python, stop_grace, 5000) + 4000,
    Deadline = erlang:monotonic_time(millisecond) + Grace,
    lists:foreach(fun(Sup) ->
                          Mon = monitor(process, Sup),
                          Left = max(0, Deadline - erlang:monotonic_time(millisecond)),
                          receive
                              {'DOWN', Mon, process, Sup, _} -> ok
                          after Left ->
                              exit(Sup, kill),
                              receive {'DOWN', Mon, process, Sup, _} -> ok end
                          end
                  end, Old).

child(Name, Settings) ->
    #{id => {pool, Name}, start => {py_pool_sup, start_link, [Name, Settings]},
      type => supervisor, shutdown => infinity}.
