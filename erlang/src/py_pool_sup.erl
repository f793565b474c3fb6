%% @doc One pool's supervisor: its keeper, then one coordinator (one port) per member.
%%
%% one_for_one: a member that dies is restarted alone; the other members
%% go on serving. The keeper (`py_pool_keeper') publishes the pool and
%% owns the namespaces its members hold.
-module(py_pool_sup).
-behaviour(supervisor).

-export([start_link/2]).
-export([init/1]).

-spec start_link(atom(), map()) -> {ok, pid()} | {error, term()}.
start_link(Name, Settings) ->
    supervisor:start_link(?MODULE, {Name, Settings}).

-spec init({atom(), map()}) -> {ok, {supervisor:sup_flags(), [supervisor:child_spec()]}}.
init({Name, Settings = #{size := Size, restart_intensity := {Intensity, Period},
                         stop_grace := StopGrace}}) ->
    Keeper = #{id => keeper, start => {py_pool_keeper, start_link, [Name, Settings]}},
    Members = [#{id => {member, I},
                 start => {py_coordinator, start_link, [Name, I, Settings]},
                 %% Room for in-flight calls to finish (stop_grace), then the port to exit.
                 shutdown => StopGrace + 2000}
               || I <- lists:seq(1, Size)],
    {ok, {#{strategy => one_for_one, intensity => Intensity, period => Period},
          [Keeper | Members]}}.
