%% @doc Registry of Erlang functions callable from Python.
%%
%% An ETS table owned by this long-lived process, so registrations survive
%% port restarts. Keys are UTF-8 binaries: Python names never become atoms.
-module(py_registry).
-behaviour(gen_server).

-export([start_link/0, register/2, unregister/1, lookup/1]).
-export([init/1, handle_call/3, handle_cast/2]).

-type entry() :: fun((list()) -> term()) | {module(), atom()}.
-export_type([entry/0]).

%% API.

-spec start_link() -> {ok, pid()} | {error, term()}.
start_link() ->
    gen_server:start_link({local, ?MODULE}, ?MODULE, [], []).

-spec register(binary(), entry()) -> ok.
register(Name, Entry) when is_binary(Name) ->
    gen_server:call(?MODULE, {register, Name, Entry}).

-spec unregister(binary()) -> ok.
unregister(Name) when is_binary(Name) ->
    gen_server:call(?MODULE, {unregister, Name}).

%% @doc Looked up by handler processes, straight from ETS.
-spec lookup(binary()) -> {ok, entry()} | error.
lookup(Name) ->
    case ets:lookup(?MODULE, Name) of
        [{_, Entry}] -> {ok, Entry};
        [] -> error
    end.

%% gen_server.

-spec init([]) -> {ok, #{}}.
init([]) ->
    _ = ets:new(?MODULE, [named_table, protected, set, {read_concurrency, true}]),
    {ok, #{}}.

-spec handle_call(term(), gen_server:from(), State) -> {reply, term(), State}.
handle_call({register, Name, Entry}, _From, State) ->
    true = ets:insert(?MODULE, {Name, Entry}),
    {reply, ok, State};
handle_call({unregister, Name}, _From, State) ->
    true = ets:delete(?MODULE, Name),
    {reply, ok, State};
handle_call(_Other, _From, State) ->
    {reply, {error, unknown_request}, State}.

-spec handle_cast(term(), State) -> {noreply, State}.
handle_cast(_Msg, State) ->
    {noreply, State}.
