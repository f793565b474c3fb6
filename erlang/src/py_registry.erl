%% @doc Registry of Erlang functions callable from Python, and the counter of
%% atoms Python created.
%%
%% An ETS table owned by this long-lived process, so registrations survive
%% port restarts. Keys are UTF-8 binaries: Python names never become atoms.
%%
%% Atoms: frames from the port are decoded with `binary_to_term(_, [safe])',
%% so Python can only name atoms that exist. `erlang.new_atom(Name)' is the
%% one way it creates one: this process creates it, serialized, and counts
%% it; at most `max_new_atoms' (application environment, default 10000) per
%% start of the application. Names that already are atoms never count.
-module(py_registry).
-behaviour(gen_server).

-export([start_link/0, register/2, unregister/1, lookup/1, new_atom/1, new_atoms/0]).
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

%% @doc The atom named by the UTF-8 binary Name, created if it does not exist
%% and fewer than `max_new_atoms' atoms were created so far.
-spec new_atom(binary()) ->
          {ok, atom()} | {error, {too_many_new_atoms, non_neg_integer()} | bad_atom_name}.
new_atom(Name) when is_binary(Name) ->
    try binary_to_existing_atom(Name, utf8) of
        Atom -> {ok, Atom}
    catch
        error:badarg -> gen_server:call(?MODULE, {new_atom, Name})
    end.

%% @doc How many atoms `new_atom/1' created since the application started.
-spec new_atoms() -> non_neg_integer().
new_atoms() ->
    gen_server:call(?MODULE, new_atoms).

%% gen_server.

-spec init([]) -> {ok, #{new_atoms := non_neg_integer()}}.
init([]) ->
    _ = ets:new(?MODULE, [named_table, protected, set, {read_concurrency, true}]),
    {ok, #{new_atoms => 0}}.

-spec handle_call(term(), gen_server:from(), State) -> {reply, term(), State}.
handle_call({register, Name, Entry}, _From, State) ->
    true = ets:insert(?MODULE, {Name, Entry}),
    {reply, ok, State};
handle_call({unregister, Name}, _From, State) ->
    true = ets:delete(?MODULE, Name),
    {reply, ok, State};
handle_call({new_atom, Name}, _From, State = #{new_atoms := Count}) ->
    Max = application:get_env(erlang_python, max_new_atoms, 10000),
    %% Checked again here: another caller may have created it meanwhile.
    try binary_to_existing_atom(Name, utf8) of
        Atom -> {reply, {ok, Atom}, State}
    catch
        error:badarg when Count >= Max ->
            {reply, {error, {too_many_new_atoms, Max}}, State};
        error:badarg ->
            try binary_to_atom(Name, utf8) of
                Atom -> {reply, {ok, Atom}, State#{new_atoms := Count + 1}}
            catch
                error:_ -> {reply, {error, bad_atom_name}, State}
            end
    end;
handle_call(new_atoms, _From, State = #{new_atoms := Count}) ->
    {reply, Count, State};
handle_call(_Other, _From, State) ->
    {reply, {error, unknown_request}, State}.

-spec handle_cast(term(), State) -> {noreply, State}.
handle_cast(_Msg, State) ->
    {noreply, State}.
