%% @doc Pools of Python processes: where a request goes (routing, contexts, register_pool) and starting and stopping pools.
%%
%% == Layout in persistent_term ==
%% <ul>
%% <li>`{erlang_python, pools}': the names of the running pools.</li>
%% <li>`{erlang_python, pool, Pool}': `#{size, settings, sup}', written by
%%     the pool's keeper (`py_pool_keeper') when the pool starts.</li>
%% <li>The `#py_port{}' of each running member: the default pool's first
%%     member under `?PY_PORT_KEY' (as before pools, so the default path
%%     of a size-1 default pool is one read), every other member under
%%     `{erlang_python, port, Pool, Index}'. A member restarting has none.</li>
%% <li>`{erlang_python, routes}': `py:register_pool/2' routes, a map from
%%     `Module' or `{Module, Function}' (binaries) to a pool.</li>
%% <li>`{erlang_python, run_time_pools}': the pools `py:start_pool/2'
%%     started and `py:stop_pool/1' did not stop, with their settings, so
%%     that `py_pools_sup' starts them again when it restarts.</li>
%% </ul>
%% The routes and the run-time pools belong to no process: a restart of
%% any part of the tree keeps them; the application's start clears them
%% (`clear_routes/0').
%% Routing reads these, and each member's pending table (its size is the
%% number of requests the member has not answered): no process is asked.
-module(py_pool).

-include("py_protocol.hrl").

-export([port/1, port/2, route/1, member/2, members/1, member_key/2, pools/0, pool_size/1,
         settings/1, context/1, all_ports/0, await_member/3]).
-export([start_pool/2, stop_pool/1, register_pool/2, unregister_pool/1, lookup_pool/2]).
-export([publish/3, unpublish/1, clear_routes/0, run_time_pools/0]).

-type pool() :: atom().
-type target() :: pool() | #py_context{} | {pool(), node()}.
-export_type([pool/0, target/0]).

-define(POOLS_KEY, {erlang_python, pools}).
-define(POOL_KEY(Pool), {erlang_python, pool, Pool}).
-define(ROUTES_KEY, {erlang_python, routes}).
-define(RUN_TIME_KEY, {erlang_python, run_time_pools}).

%% API.

%% @doc The port a request to Target goes to: for a pool its least-loaded
%% running member, for a context its member. Waits for a restarting member
%% up to the default call timeout.
-spec port(target()) -> {ok, #py_port{}} | {error, term()}.
port(Target) ->
    port(Target, py_call:default_timeout()).

%% @doc `port/1' waiting at most Timeout ms for a restarting member.
-spec port(target(), timeout()) -> {ok, #py_port{}} | {error, term()}.
port(#py_context{node = Node, pool = Pool, index = Index}, Timeout) when Node =:= node() ->
    case member(Pool, Index) of
        {ok, P} -> {ok, P};
        {error, restarting} -> wait_port({member, Pool, Index}, Timeout);
        Error -> Error
    end;
port(#py_context{node = Node}, _Timeout) ->
    {error, {remote, Node}};
port({Pool, Node}, Timeout) when is_atom(Pool), Node =:= node() ->
    port(Pool, Timeout);
port({Pool, Node}, _Timeout) when is_atom(Pool), is_atom(Node) ->
    {error, {remote, Node}};
port(Pool, Timeout) when is_atom(Pool) ->
    case route(Pool) of
        {ok, P} -> {ok, P};
        {error, restarting} -> wait_port({pool, Pool}, Timeout);
        Error -> Error
    end.

%% @doc The least-loaded running member of Pool (fewest pending requests);
%% `{error, restarting}' when none runs now.
-spec route(pool()) -> {ok, #py_port{}} | {error, restarting | not_started | {no_pool, pool()}}.
route(Pool) ->
    case persistent_term:get(?POOL_KEY(Pool), undefined) of
        #{size := 1} ->
            member(Pool, 1);
        #{size := Size} ->
            least_loaded(Pool, Size, 1, none);
        undefined ->
            no_pool(Pool)
    end.

%% @doc Member Index of Pool, running now.
-spec member(pool(), pos_integer()) ->
          {ok, #py_port{}} | {error, restarting | not_started | {no_pool, pool()}}.
member(Pool, Index) ->
    case persistent_term:get(member_key(Pool, Index), undefined) of
        #py_port{} = P -> {ok, P};
        undefined ->
            case persistent_term:get(?POOL_KEY(Pool), undefined) of
                #{size := Size} when Index =< Size -> {error, restarting};
                #{} -> {error, {no_member, Pool, Index}};
                undefined -> no_pool(Pool)
            end
    end.

%% @doc The running members of Pool.
-spec members(pool()) -> [#py_port{}].
members(Pool) ->
    case persistent_term:get(?POOL_KEY(Pool), undefined) of
        #{size := Size} ->
            [P || I <- lists:seq(1, Size),
                  #py_port{} = P <- [persistent_term:get(member_key(Pool, I), undefined)]];
        undefined ->
            []
    end.

%% @doc Every running member of every pool.
-spec all_ports() -> [#py_port{}].
all_ports() ->
    lists:append([members(Pool) || Pool <- pools()]).

%% @doc Where member Index of Pool is published.
-spec member_key(pool(), pos_integer()) -> term().
member_key(default, 1) -> ?PY_PORT_KEY;
member_key(Pool, Index) -> {erlang_python, port, Pool, Index}.

%% @doc The names of the running pools.
-spec pools() -> [pool()].
pools() ->
    persistent_term:get(?POOLS_KEY, []).

%% @doc The number of members of Pool (0 when it does not run).
-spec pool_size(pool()) -> non_neg_integer().
pool_size(Pool) ->
    case persistent_term:get(?POOL_KEY(Pool), undefined) of
        #{size := Size} -> Size;
        undefined -> 0
    end.

%% @doc The settings Pool was started with (its own and the application's).
-spec settings(pool()) -> {ok, map()} | {error, {no_pool, pool()} | not_started}.
settings(Pool) ->
    case persistent_term:get(?POOL_KEY(Pool), undefined) of
        #{settings := Settings} -> {ok, Settings};
        undefined -> no_pool(Pool)
    end.

%% @doc A context of Pool: its least-loaded member now, for good.
-spec context(pool() | {pool(), pos_integer()}) -> #py_context{}.
context({Pool, Index}) when is_atom(Pool), is_integer(Index), Index > 0 ->
    case Index =< pool_size(Pool) of
        true -> #py_context{node = node(), pool = Pool, index = Index};
        false -> error({no_member, Pool, Index})
    end;
context(Pool) when is_atom(Pool) ->
    case route(Pool) of
        {ok, #py_port{index = Index}} ->
            #py_context{node = node(), pool = Pool, index = Index};
        {error, restarting} ->
            %% Every member restarting: any will do, the call waits for it.
            #py_context{node = node(), pool = Pool,
                        index = rand:uniform(pool_size(Pool))};
        {error, Reason} ->
            error(Reason)
    end.

%% @doc Waits up to Timeout ms for member Index of Pool (or, with `any',
%% some member) to run; returns the ms waited.
-spec await_member(pool(), pos_integer() | any, timeout()) ->
          {ok, non_neg_integer()} | {error, term()}.
await_member(Pool, Index, Timeout) ->
    Start = erlang:monotonic_time(millisecond),
    await_member(Pool, Index, Start, Timeout).

%% Pools at run time.

%% @doc Starts pool Name with settings Opts (a map or a list of pairs; see
%% the README): `{ok, Pid}' of its supervisor once every member runs.
-spec start_pool(pool(), map() | [{atom(), term()}]) -> {ok, pid()} | {error, term()}.
start_pool(Name, Opts) when is_atom(Name) ->
    case py_config:pool_settings(Name, Opts) of
        {ok, Settings} ->
            case whereis(py_pools_sup) of
                undefined ->
                    {error, not_started};
                _ ->
                    case py_pools_sup:start_pool(Name, Settings) of
                        {ok, _} = Started ->
                            ok = change_run_time(fun(Pools) -> Pools#{Name => Settings} end),
                            Started;
                        Error ->
                            Error
                    end
            end;
        {error, _} = Error ->
            Error
    end.

%% @doc Stops pool Name: its members finish the requests in flight (up to
%% `stop_grace' ms) and stop. The default pool cannot be stopped this way.
-spec stop_pool(pool()) -> ok | {error, term()}.
stop_pool(default) ->
    {error, default_pool};
stop_pool(Name) when is_atom(Name) ->
    case whereis(py_pools_sup) of
        undefined ->
            {error, not_started};
        _ ->
            ok = change_run_time(fun(Pools) -> maps:remove(Name, Pools) end),
            py_pools_sup:stop_pool(Name)
    end.

%% @doc Routes calls of Module (every function), or of `{Module, Function}',
%% to Pool; a function's route wins over its module's.
-spec register_pool(pool(), py:name() | {py:name(), py:name()}) -> ok.
register_pool(Pool, {Module, Function}) when is_atom(Pool) ->
    set_route({text(Module), text(Function)}, Pool);
register_pool(Pool, Module) when is_atom(Pool) ->
    set_route(text(Module), Pool).

%% @doc Removes the route of Module or `{Module, Function}'.
-spec unregister_pool(py:name() | {py:name(), py:name()}) -> ok.
unregister_pool({Module, Function}) ->
    del_route({text(Module), text(Function)});
unregister_pool(Module) ->
    del_route(text(Module)).

%% @doc The pool a call of Module.Function goes to (binaries): its
%% function's route, its module's, or `default'.
-spec lookup_pool(binary(), binary()) -> pool().
lookup_pool(Module, Function) ->
    case persistent_term:get(?ROUTES_KEY, #{}) of
        Routes when map_size(Routes) =:= 0 ->
            default;
        Routes ->
            case Routes of
                #{{Module, Function} := Pool} -> Pool;
                #{Module := Pool} -> Pool;
                #{} -> default
            end
    end.

%% For py_pool_keeper.

%% @private Publishes a started pool.
-spec publish(pool(), pos_integer(), map()) -> ok.
publish(Pool, Size, Settings) ->
    persistent_term:put(?POOL_KEY(Pool), #{size => Size, settings => Settings}),
    case lists:member(Pool, pools()) of
        true -> ok;
        false -> persistent_term:put(?POOLS_KEY, pools() ++ [Pool])
    end.

%% @private Unpublishes a stopped pool.
-spec unpublish(pool()) -> ok.
unpublish(Pool) ->
    persistent_term:put(?POOLS_KEY, pools() -- [Pool]),
    _ = persistent_term:erase(?POOL_KEY(Pool)),
    ok.

%% Internal.

least_loaded(Pool, Size, I, Best) when I =< Size ->
    case persistent_term:get(member_key(Pool, I), undefined) of
        #py_port{pending = Pending} = P ->
            case ets:info(Pending, size) of
                undefined ->
                    least_loaded(Pool, Size, I + 1, Best);
                Load ->
                    case Best of
                        {BestLoad, _} when BestLoad =< Load -> least_loaded(Pool, Size, I + 1, Best);
                        _ -> least_loaded(Pool, Size, I + 1, {Load, P})
                    end
            end;
        undefined ->
            least_loaded(Pool, Size, I + 1, Best)
    end;
least_loaded(_Pool, _Size, _I, {_, P}) ->
    {ok, P};
least_loaded(_Pool, _Size, _I, none) ->
    {error, restarting}.

no_pool(Pool) ->
    case whereis(py_sup) of
        undefined -> {error, not_started};
        _ -> {error, {no_pool, Pool}}
    end.

wait_port(What, Timeout) ->
    {Pool, Index} = case What of
                        {member, P, I} -> {P, I};
                        {pool, P} -> {P, any}
                    end,
    case await_member(Pool, Index, Timeout) of
        {ok, Waited} ->
            Left = case Timeout of infinity -> infinity; _ -> max(0, Timeout - Waited) end,
            case What of
                {member, _, _} -> port(#py_context{node = node(), pool = Pool, index = Index}, Left);
                {pool, _} -> port(Pool, Left)
            end;
        {error, _} = Error ->
            Error
    end.

await_member(Pool, Index, Start, Timeout) ->
    Waited = erlang:monotonic_time(millisecond) - Start,
    Left = case Timeout of infinity -> infinity; _ -> Timeout - Waited end,
    Running = case Index of
                  any -> route(Pool);
                  _ -> member(Pool, Index)
              end,
    case Running of
        {ok, _} ->
            {ok, Waited};
        {error, restarting} when Left =/= infinity, Left =< 0 ->
            {error, timeout};
        {error, restarting} ->
            %% A (re)starting member answers `ready' once its port runs.
            case restarting_coordinator(Pool, Index, Left) of
                undefined ->
                    timer:sleep(5);
                Pid ->
                    try gen_server:call(Pid, ready, Left)
                    catch exit:{timeout, _} -> ok; exit:_ -> ok
                    end
            end,
            await_member(Pool, Index, Start, Timeout);
        {error, _} = Error ->
            Error
    end.

%% The coordinator of a member being (re)started, if its process exists yet
%% (asked of the pool's supervisor, waiting at most Left ms).
restarting_coordinator(Pool, Index, Left) ->
    case settings(Pool) of
        {error, _} ->
            undefined;
        {ok, #{sup := Sup}} ->
            case [Pid || {{member, I}, Pid, _, _} <- children(Sup, Left), is_pid(Pid),
                         Index =:= any orelse I =:= Index] of
                [Pid | _] -> Pid;
                [] -> undefined
            end
    end.

%% supervisor:which_children/1 with a bound: it waits as long as the
%% supervisor is busy, and a pool's supervisor that is stopping its members
%% (py_sup restarting the pools) answers only once they have stopped, which
%% held a caller 1 s past its timeout in the chaos soak. Asked from a
%% helper process, so the caller's own timeout holds.
children(Sup, Left) ->
    Caller = self(),
    Tag = make_ref(),
    {Helper, Mon} = spawn_monitor(fun() -> Caller ! {Tag, catch supervisor:which_children(Sup)} end),
    receive
        {Tag, Children} when is_list(Children) -> demonitor(Mon, [flush]), Children;
        {Tag, _} -> demonitor(Mon, [flush]), [];
        {'DOWN', Mon, process, Helper, _} -> []
    after Left ->
        exit(Helper, kill),
        demonitor(Mon, [flush]),
        receive {Tag, _} -> [] after 0 -> [] end
    end.

%% Changes are made by py_registry, one at a time (two callers changing
%% the map at once would lose one change).
set_route(Key, Pool) ->
    py_registry:update(fun() -> change_routes(fun(Routes) -> Routes#{Key => Pool} end) end).

del_route(Key) ->
    py_registry:update(fun() -> change_routes(fun(Routes) -> maps:remove(Key, Routes) end) end).

%% In py_registry: applies Change to the routes.
change_routes(Change) ->
    change_term(?ROUTES_KEY, Change).

%% In py_registry: applies Change to the map under Key.
change_term(Key, Change) ->
    Old = persistent_term:get(Key, #{}),
    case Change(Old) of
        Old -> ok;
        New -> persistent_term:put(Key, New)
    end.

%% @private When the application starts: no routes and no run-time pools yet.
-spec clear_routes() -> ok.
clear_routes() ->
    _ = persistent_term:erase(?ROUTES_KEY),
    _ = persistent_term:erase(?RUN_TIME_KEY),
    ok.

%% @private The pools started by `start_pool/2' and not stopped, in the
%% order of their names, with their checked settings.
-spec run_time_pools() -> [{pool(), map()}].
run_time_pools() ->
    lists:sort(maps:to_list(persistent_term:get(?RUN_TIME_KEY, #{}))).

change_run_time(Change) ->
    py_registry:update(fun() -> change_term(?RUN_TIME_KEY, Change) end).

text(A) when is_atom(A) -> atom_to_binary(A, utf8);
text(B) when is_binary(B) -> B;
text(L) when is_list(L) -> unicode:characters_to_binary(L).
