%% @doc `py:stats()': the default pool's first member's counters, per-pool
%% and per-member figures, live namespaces and handles, and the port's own
%% view of the member (every key an atom; the README lists them).
-module(py_stats).

-include("py_protocol.hrl").

-export([collect/0]).

%% @doc Everything `py:stats()' returns.
-spec collect() -> #{atom() => term()}.
collect() ->
    Local = try py_coordinator:stats() catch exit:_ -> #{running => false} end,
    Pools = maps:from_list([{Pool, pool_stats(Pool)} || Pool <- py_pool:pools()]),
    Namespaces = maps:fold(fun(_, #{namespaces := N}, Acc) -> Acc + N end, 0, Pools),
    Top = Local#{pools => Pools, namespaces => Namespaces, handles => py_refs:count()},
    case py_call:request(?PY_STATS, {}, default) of
        {ok, Port} -> Top#{port => atom_keys(Port)};
        {error, _} -> Top
    end.

%% Internal.

%% Per pool: its size, its live namespaces, and per member the OS pid,
%% pending requests, executor threads (running now) and restarts.
pool_stats(Pool) ->
    Restarts = py_pool_keeper:restarts(Pool),
    Members = [member_stats(P, Restarts) || P <- py_pool:members(Pool)],
    #{size => py_pool:pool_size(Pool), members => Members,
      namespaces => py_pool_keeper:count(Pool)}.

member_stats(P = #py_port{index = Index, pending = Pending}, Restarts) ->
    Coordinator = try py_coordinator:stats(ets:info(Pending, owner)) catch _:_ -> #{} end,
    Port = case py_call:request_on(P, ?PY_STATS, {}, default) of
               {ok, Map} -> atom_keys(Map);
               {error, _} -> #{}
           end,
    #{index => Index,
      os_pid => maps:get(os_pid, Coordinator, undefined),
      pending => maps:get(pending_calls, Coordinator, 0),
      executors => maps:get(threads_running, Port, 0),
      namespaces => maps:get(namespaces, Port, 0),
      restarts => maps:get(Index, Restarts, 0)}.

%% The port's keys are names in our own port program, never user data: a
%% fixed, small set of atoms.
atom_keys(Map) ->
    maps:fold(fun(K, V, Acc) -> Acc#{binary_to_atom(K, utf8) => V} end, #{}, Map).
