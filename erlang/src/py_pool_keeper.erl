%% @doc One pool's keeper: publishes the pool, and owns the process-bound namespaces its members hold.
%%
%% == Namespaces ==
%% `py:eval/exec' run in a namespace owned by the calling Erlang process
%% (see `py_namespace'). Its first use in a member registers it here: the
%% keeper monitors the owner (one monitor per owner, however many
%% namespaces it has) and, when the owner exits, tells the member to drop
%% the namespace (a `drop_namespace' frame). A member whose port dies loses
%% its namespaces: its coordinator reports it (`member_down/4') and the
%% keeper remembers why, for the owner's next use, which gets
%% `{error, {context_lost, Reason}}' once.
%%
%% One keeper per pool, not one process per owner: an owner costs a monitor
%% and a map entry.
%%
%% An owner on another node (its `eval'/`exec' sent here with `{Pool,
%% Node}' or a context of this node, see `py_dist_namespace') keeps no
%% process dictionary here: the keeper keeps its namespaces, the member it
%% is pinned to, and the loss of a namespace whose member died (said once,
%% as `context_lost'). The monitor of such an owner is a monitor across
%% nodes: it fires when the owner exits or its node is cut off.
-module(py_pool_keeper).
-behaviour(gen_server).

-include("py_protocol.hrl").

-export([start_link/2, register_namespace/3, close_namespace/3, member_up/3, member_down/4,
         lost_reason/3, count/1, restarts/1]).
-export([pinned/2, remote_namespace/6, close_all/2]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2, terminate/2]).

-record(state, {
    pool :: atom(),
    %% owner -> {its monitor, #{Index => {Incarnation, NamespaceId}}}
    owners = #{} :: #{pid() => {reference(), #{pos_integer() => {integer(), pos_integer()}}}},
    %% {Index, Incarnation} of a port that died -> why (kept for owners'
    %% next use; an entry per restart, a few words each)
    lost = #{} :: #{{pos_integer(), integer()} => term()},
    %% member -> how many times its port started
    starts = #{} :: #{pos_integer() => pos_integer()},
    %% member -> the incarnation of its running port
    current = #{} :: #{pos_integer() => integer()},
    %% owners on other nodes: the member each is pinned to in this pool
    pins = #{} :: #{pid() => pos_integer()},
    %% owners on other nodes: a namespace lost with its member -> why
    lost_owners = #{} :: #{{pid(), pos_integer()} => term()}
}).

%% API.

-spec start_link(atom(), map()) -> {ok, pid()}.
start_link(Pool, Settings) ->
    gen_server:start_link(?MODULE, {Pool, Settings}, []).

%% @doc Registers the calling process's new namespace NsId in member Index
%% (incarnation Inc) of Pool.
-spec register_namespace(atom(), pos_integer(), integer()) -> {ok, pos_integer()} | {error, term()}.
register_namespace(Pool, Index, Inc) ->
    call(Pool, {register, self(), Index, Inc}).

%% @doc Drops the calling process's namespace in member Index of Pool.
-spec close_namespace(atom(), pid(), pos_integer()) -> ok | {error, term()}.
close_namespace(Pool, Owner, Index) ->
    call(Pool, {close, Owner, Index}).

%% @doc The member of Pool that Owner (a process of another node) is pinned to.
-spec pinned(atom(), pid()) -> {ok, pos_integer()} | none | {error, term()}.
pinned(Pool, Owner) ->
    case call(Pool, {pinned, Owner}) of
        {ok, Found} -> Found;
        {error, _} = Error -> Error
    end.

%% @doc The namespace of Owner (a process of another node) in member Index
%% (incarnation Inc) of Pool: `{ok, NsId}'; `none' when it has none and
%% Create is false; `{lost, Reason}' once when its member died since. With
%% Pin, a new namespace pins Owner to that member for Pool.
-spec remote_namespace(atom(), pid(), pos_integer(), integer(), boolean(), boolean()) ->
          {ok, pos_integer()} | none | {lost, term()} | {error, term()}.
remote_namespace(Pool, Owner, Index, Inc, Create, Pin) ->
    case call(Pool, {remote_namespace, Owner, Index, Inc, Create, Pin}) of
        {ok, Found} -> Found;
        {error, _} = Error -> Error
    end.

%% @doc Drops every namespace of Owner in Pool, and its pin.
-spec close_all(atom(), pid()) -> ok | {error, term()}.
close_all(Pool, Owner) ->
    call(Pool, {close_all, Owner}).

%% @doc From a coordinator whose port started (incarnation Inc).
-spec member_up(atom(), pos_integer(), integer()) -> ok.
member_up(Pool, Index, Inc) ->
    case keeper(Pool) of
        undefined -> ok;
        Pid -> gen_server:cast(Pid, {member_up, Index, Inc})
    end.

%% @doc How many times each member of Pool was restarted.
-spec restarts(atom()) -> #{pos_integer() => non_neg_integer()}.
restarts(Pool) ->
    case call(Pool, restarts) of
        {ok, Map} -> Map;
        {error, _} -> #{}
    end.

%% @doc From a coordinator whose port died: the namespaces of that port are gone.
-spec member_down(atom(), pos_integer(), integer(), term()) -> ok.
member_down(Pool, Index, Inc, Reason) ->
    case keeper(Pool) of
        undefined -> ok;
        Pid -> gen_server:cast(Pid, {member_down, Index, Inc, Reason})
    end.

%% @doc Why the port incarnation Inc of member Index died, as its
%% coordinator said (`restarted' when it could not say), or `unknown' for
%% an incarnation this keeper never saw: a port of an earlier start of
%% the pool or the application, whose namespaces are simply gone.
-spec lost_reason(atom(), pos_integer(), integer()) -> {lost, term()} | unknown.
lost_reason(Pool, Index, Inc) ->
    case call(Pool, {lost_reason, Index, Inc}) of
        {ok, Found} -> Found;
        {error, _} -> unknown
    end.

%% @doc The live namespaces of Pool.
-spec count(atom()) -> non_neg_integer().
count(Pool) ->
    case call(Pool, count) of
        {ok, N} -> N;
        {error, _} -> 0
    end.

%% gen_server.

-spec init({atom(), map()}) -> {ok, #state{}}.
init({Pool, Settings = #{size := Size}}) ->
    process_flag(trap_exit, true),
    [Sup | _] = get('$ancestors'),
    ok = py_pool:publish(Pool, Size, Settings#{keeper => self(), sup => Sup}),
    {ok, #state{pool = Pool}}.

-spec handle_call(term(), gen_server:from(), #state{}) -> {reply, term(), #state{}}.
handle_call({register, Owner, Index, Inc}, _From, S) ->
    {NsId, S1} = register(Owner, Index, Inc, S),
    {reply, {ok, NsId}, S1};
handle_call({close, Owner, Index}, _From, S = #state{lost_owners = LostOwners}) ->
    {reply, ok, drop(Owner, [Index], S#state{lost_owners = maps:remove({Owner, Index}, LostOwners)})};
handle_call({close_all, Owner}, _From, S = #state{owners = Owners}) ->
    Indexes = case Owners of
                  #{Owner := {_, Spaces}} -> maps:keys(Spaces);
                  #{} -> []
              end,
    {reply, ok, forget_owner(Owner, drop(Owner, Indexes, S))};
handle_call({pinned, Owner}, _From, S = #state{pins = Pins}) ->
    case Pins of
        #{Owner := Index} -> {reply, {ok, {ok, Index}}, S};
        #{} -> {reply, {ok, none}, S}
    end;
handle_call({remote_namespace, Owner, Index, Inc, Create, Pin}, _From, S) ->
    {Reply, S1} = find_remote(Owner, Index, Inc, Create, Pin, S),
    {reply, {ok, Reply}, S1};
handle_call({lost_reason, Index, Inc}, _From, S = #state{lost = Lost}) ->
    case Lost of
        #{{Index, Inc} := Reason} -> {reply, {ok, {lost, Reason}}, S};
        #{} -> {reply, {ok, unknown}, S}
    end;
handle_call(count, _From, S = #state{owners = Owners}) ->
    {reply, {ok, maps:fold(fun(_, {_, Spaces}, N) -> N + map_size(Spaces) end, 0, Owners)}, S};
handle_call(restarts, _From, S = #state{starts = Starts}) ->
    {reply, {ok, maps:map(fun(_, N) -> N - 1 end, Starts)}, S};
handle_call(_Other, _From, S) ->
    {reply, {error, unknown_request}, S}.

-spec handle_cast(term(), #state{}) -> {noreply, #state{}}.
handle_cast({member_up, Index, Inc}, S = #state{starts = Starts, current = Current,
                                                   lost = Lost}) ->
    %% Namespaces of an earlier port of this member (one that died without
    %% a word: its coordinator was killed) went with it.
    S1 = forget(fun(I, {N, _}) -> I =:= Index andalso N =/= Inc end,
                fun(I, N) -> maps:get({I, N}, Lost, restarted) end, S),
    Lost1 = case Current of
                #{Index := Old} when not is_map_key({Index, Old}, Lost) ->
                    Lost#{{Index, Old} => restarted};
                #{} ->
                    Lost
            end,
    {noreply, S1#state{starts = Starts#{Index => maps:get(Index, Starts, 0) + 1},
                       current = Current#{Index => Inc}, lost = Lost1}};
handle_cast({member_down, Index, Inc, Reason}, S = #state{lost = Lost}) ->
    %% The port took them with it: forget them here, keep the owners'
    %% monitors (they may make new ones).
    S1 = forget(fun(I, {N, _}) -> I =:= Index andalso N =:= Inc end, fun(_, _) -> Reason end, S),
    {noreply, S1#state{lost = Lost#{{Index, Inc} => Reason}}};
handle_cast(_Msg, S) ->
    {noreply, S}.

-spec handle_info(term(), #state{}) -> {noreply, #state{}}.
handle_info({'DOWN', _Mon, process, Owner, _Why}, S = #state{owners = Owners}) ->
    case Owners of
        #{Owner := {_, Spaces}} -> {noreply, forget_owner(Owner, drop(Owner, maps:keys(Spaces), S))};
        #{} -> {noreply, S}
    end;
handle_info(_Other, S) ->
    %% The replies to our drop_namespace requests: nothing to do with them.
    {noreply, S}.

-spec terminate(term(), #state{}) -> ok.
terminate(_Reason, #state{pool = Pool}) ->
    py_pool:unpublish(Pool).

%% Internal.

register(Owner, Index, Inc, S = #state{owners = Owners}) ->
    NsId = erlang:unique_integer([positive]),
    {Mon, Spaces} = case Owners of
                        #{Owner := Known} -> Known;
                        #{} -> {monitor(process, Owner), #{}}
                    end,
    {NsId, S#state{owners = Owners#{Owner => {Mon, Spaces#{Index => {Inc, NsId}}}}}}.

%% The namespace of an owner of another node (see remote_namespace/6).
find_remote(Owner, Index, Inc, Create, Pin,
             S = #state{owners = Owners, lost = Lost, lost_owners = LostOwners}) ->
    Spaces = case Owners of
                 #{Owner := {_, Known}} -> Known;
                 #{} -> #{}
             end,
    case {LostOwners, Spaces} of
        {#{{Owner, Index} := Reason}, _} ->
            {{lost, Reason}, S#state{lost_owners = maps:remove({Owner, Index}, LostOwners)}};
        {_, #{Index := {Inc, NsId}}} ->
            {{ok, NsId}, pin(Pin, Owner, Index, S)};
        {_, #{Index := {Old, _}}} ->
            %% The member restarted and its coordinator's word is not here yet.
            {Mon, _} = maps:get(Owner, Owners),
            S1 = S#state{owners = Owners#{Owner => {Mon, maps:remove(Index, Spaces)}}},
            {{lost, maps:get({Index, Old}, Lost, restarted)}, S1};
        _ when Create ->
            {NsId, S1} = register(Owner, Index, Inc, S),
            {{ok, NsId}, pin(Pin, Owner, Index, S1)};
        _ ->
            {none, S}
    end.

pin(true, Owner, Index, S = #state{pins = Pins}) -> S#state{pins = Pins#{Owner => Index}};
pin(false, _Owner, _Index, S) -> S.

%% An owner with no namespace left here: no monitor, pin or loss kept.
forget_owner(Owner, S = #state{owners = Owners, pins = Pins, lost_owners = LostOwners}) ->
    case Owners of
        #{Owner := {Mon, _}} -> demonitor(Mon, [flush]);
        #{} -> ok
    end,
    S#state{owners = maps:remove(Owner, Owners), pins = maps:remove(Owner, Pins),
            lost_owners = maps:filter(fun({O, _}, _) -> O =/= Owner end, LostOwners)}.

drop(Owner, Indexes, S = #state{pool = Pool, owners = Owners}) ->
    case Owners of
        #{Owner := {Mon, Spaces}} ->
            [drop_in_port(Pool, Index, Inc, NsId)
             || {Index, {Inc, NsId}} <- maps:to_list(maps:with(Indexes, Spaces))],
            Left = maps:without(Indexes, Spaces),
            case map_size(Left) of
                0 ->
                    forget_owner(Owner, S);
                _ ->
                    S#state{owners = Owners#{Owner => {Mon, Left}}}
            end;
        #{} ->
            S
    end.

%% Namespaces gone with their port; an owner of another node, which keeps
%% no record of its own, finds why (Why(Index, Incarnation)) on its next use.
forget(Gone, Why, S = #state{owners = Owners, lost_owners = LostOwners}) ->
    Lost = [{{Owner, I}, Why(I, N)} || {Owner, {_, Spaces}} <- maps:to_list(Owners),
                                       node(Owner) =/= node(),
                                       {I, V = {N, _}} <- maps:to_list(Spaces), Gone(I, V)],
    S#state{owners = maps:map(fun(_, {Mon, Spaces}) ->
                                      {Mon, maps:filter(fun(I, V) -> not Gone(I, V) end, Spaces)}
                              end, Owners),
            lost_owners = maps:merge(LostOwners, maps:from_list(Lost))}.

%% Told without waiting for the answer: a busy port must not hold the keeper.
drop_in_port(Pool, Index, Inc, NsId) ->
    case py_pool:member(Pool, Index) of
        {ok, P = #py_port{incarnation = Inc}} ->
            _ = py_call:post_on(P, ?PY_DROP_NAMESPACE, NsId, infinity),
            ok;
        _ ->
            ok % that port is gone, and the namespace with it
    end.

call(Pool, Request) ->
    case keeper(Pool) of
        undefined ->
            {error, {no_pool, Pool}};
        Pid ->
            try gen_server:call(Pid, Request)
            catch exit:{noproc, _} -> {error, {no_pool, Pool}}
            end
    end.

keeper(Pool) ->
    case py_pool:settings(Pool) of
        {ok, #{keeper := Pid}} -> Pid;
        _ -> undefined
    end.
