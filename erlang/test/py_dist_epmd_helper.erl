%% @doc Node discovery without epmd for the distribution tests: a node named `name_PORT@host' listens on PORT.
%%
%% CTest runs ct_run with `-start_epmd false' (no daemon left behind, no
%% clash between parallel runs), so py_dist_SUITE makes its node and its
%% peers find each other this way: `-kernel epmd_module py_dist_epmd_helper'.
%% The callbacks are erl_epmd's.
-module(py_dist_epmd_helper).

-export([start_link/0, register_node/2, register_node/3, port_please/2, port_please/3,
         listen_port_please/2, address_please/3, names/1]).

%% Version 5 of the distribution handshake, as epmd answers.
-define(VERSION, 5).

-spec start_link() -> ignore.
start_link() ->
    ignore.

-spec register_node(string(), non_neg_integer()) -> {ok, pos_integer()}.
register_node(_Name, _Port) ->
    {ok, rand:uniform(16#fffffff0) + 3}.

-spec register_node(string(), non_neg_integer(), atom()) -> {ok, pos_integer()}.
register_node(Name, Port, _Driver) ->
    register_node(Name, Port).

-spec port_please(atom() | string(), term()) -> {port, non_neg_integer(), pos_integer()} | noport.
port_please(Name, _Host) ->
    case port_of(Name) of
        {ok, Port} -> {port, Port, ?VERSION};
        error -> noport
    end.

-spec port_please(atom() | string(), term(), timeout()) ->
          {port, non_neg_integer(), pos_integer()} | noport.
port_please(Name, Host, _Timeout) ->
    port_please(Name, Host).

-spec listen_port_please(atom() | string(), term()) -> {ok, non_neg_integer()}.
listen_port_please(Name, _Host) ->
    case port_of(Name) of
        {ok, Port} -> {ok, Port};
        error -> {ok, 0}
    end.

-spec address_please(string(), term(), inet | inet6) ->
          {ok, inet:ip_address(), non_neg_integer(), pos_integer()} | {error, term()}.
address_please(Name, Host, Family) ->
    case {inet:getaddr(Host, Family), port_of(Name)} of
        {{ok, Ip}, {ok, Port}} -> {ok, Ip, Port, ?VERSION};
        {{error, _} = Error, _} -> Error;
        {_, error} -> {error, {no_port_in_name, Name}}
    end.

-spec names(term()) -> {error, address}.
names(_Host) ->
    {error, address}.

port_of(Name) ->
    Base = hd(string:split(to_list(Name), "@")),
    case string:split(Base, "_", trailing) of
        [_, Digits] ->
            try {ok, list_to_integer(Digits)} catch error:badarg -> error end;
        _ ->
            error
    end.

to_list(A) when is_atom(A) -> atom_to_list(A);
to_list(L) -> L.
