%% @doc Registry of Erlang functions callable from Python, and the counter of
%% atoms Python created.
%%
%% An ETS table owned by this long-lived process, so registrations survive
%% port restarts. Keys are UTF-8 binaries: Python names never become atoms.
%%
%% Python's `erlang' module answers `hasattr(erlang, Name)', `dir(erlang)'
%% and `from erlang import Name' from the set of registered names: after
%% every change the caller that made it sends the whole set to the port,
%% numbered with a strictly increasing change number so that Python keeps
%% the newest when two changes race; the coordinator sends it once more
%% when a port starts, before any request reaches that port.
%%
%% Atoms: frames from the port are decoded with `binary_to_term(_, [safe])',
%% so Python can only name atoms that exist. `erlang.new_atom(Name)' is the
%% one way it creates one: this process creates it, serialized, and counts
%% it; at most `max_new_atoms' (application environment, default 10000) per
%% start of the application. Names that already are atoms never count.
-module(py_registry).
-behaviour(gen_server).

-include("py_protocol.hrl").

-export([start_link/0, register/2, unregister/1, lookup/1, functions/0,
         new_atom/1, new_atoms/0, update/1]).
-export([init/1, handle_call/3, handle_cast/2]).

-type entry() :: fun((list()) -> term()) | {module(), atom()}.
-export_type([entry/0]).

%% API.

-spec start_link() -> {ok, pid()} | {error, term()}.
start_link() ->
    gen_server:start_link({local, ?MODULE}, ?MODULE, [], []).

%% @doc Registers Name; returns once Python's `erlang' module knows it.
-spec register(binary(), entry()) -> ok.
register(Name, Entry) when is_binary(Name) ->
    publish(gen_server:call(?MODULE, {register, Name, Entry})).

%% @doc Removes Name; returns once Python's `erlang' module has forgotten it.
-spec unregister(binary()) -> ok.
unregister(Name) when is_binary(Name) ->
    publish(gen_server:call(?MODULE, {unregister, Name})).

%% @doc The registered names and the number of the change that made them so.
-spec functions() -> {integer(), [binary()]}.
functions() ->
    gen_server:call(?MODULE, functions).

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

%% @doc Runs Fun in this process, one such update at a time (py_pool's
%% routes: a read-modify-write of a persistent_term).
-spec update(fun(() -> ok)) -> ok.
update(Fun) ->
    gen_server:call(?MODULE, {update, Fun}).

%% @doc How many atoms `new_atom/1' created since the application started.
-spec new_atoms() -> non_neg_integer().
new_atoms() ->
    gen_server:call(?MODULE, new_atoms).

%% gen_server.

-spec init([]) -> {ok, #{new_atoms := non_neg_integer(), version := integer()}}.
init([]) ->
    _ = ets:new(?MODULE, [named_table, protected, set, {read_concurrency, true}]),
    {ok, #{new_atoms => 0, version => change_number()}}.

-spec handle_call(term(), gen_server:from(), State) -> {reply, term(), State}.
handle_call({register, Name, Entry}, _From, State) ->
    true = ets:insert(?MODULE, {Name, Entry}),
    changed(State);
handle_call({unregister, Name}, _From, State) ->
    true = ets:delete(?MODULE, Name),
    changed(State);
handle_call(functions, _From, State = #{version := Version}) ->
    {reply, {Version, names()}, State};
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
handle_call({update, Fun}, _From, State) ->
    {reply, Fun(), State};
handle_call(_Other, _From, State) ->
    {reply, {error, unknown_request}, State}.

-spec handle_cast(term(), State) -> {noreply, State}.
handle_cast(_Msg, State) ->
    {noreply, State}.

%% Internal.

changed(State) ->
    Version = change_number(),
    {reply, {Version, names()}, State#{version := Version}}.

%% Strictly increasing for the life of the node, so a restarted registry
%% still numbers its changes after the ones Python has seen.
change_number() ->
    erlang:unique_integer([monotonic, positive]).

names() ->
    ets:select(?MODULE, [{{'$1', '_'}, [], ['$1']}]).

%% Tells every running member of every pool the new set. Without a running
%% port there is nothing to tell: a coordinator sends the set when it starts
%% one. A handler process tells its own member on its thread's channel
%% first (that thread is waiting for it).
publish({Version, Names}) ->
    Request = {<<"erlang">>, <<"_set_functions">>, [Version, Names], #{}},
    Ports = case get(?PY_HANDLER_KEY) of
                {Own, _, _} -> [Own | [P || P <- py_pool:all_ports(),
                                            P#py_port.port =/= Own#py_port.port]];
                undefined -> py_pool:all_ports()
            end,
    lists:foreach(
      fun(P) ->
              case py_call:request_on(P, ?PY_CALL, Request, default) of
                  {ok, _} ->
                      ok;
                  {error, port_closed} ->
                      ok; % its restart sends the set
                  {error, Reason} ->
                      logger:warning("erlang_python: Python was not told of the registered "
                                     "functions: ~0p", [Reason])
              end
      end, Ports).
