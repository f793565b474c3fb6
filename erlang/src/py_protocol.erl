%% @doc Building and reading frames of the port protocol (see docs/protocol.md).
%%
%% Callers build their own request frames and decode their own replies, so
%% the coordinator only routes headers and never encodes or decodes payloads.
-module(py_protocol).

-include("py_protocol.hrl").

-export([frame/4, decode/1, channel/0]).

%% API.

%% @doc A frame ready for `erlang:port_command/2' (the port adds the length):
%% `[Header | Body]'. The body is an I/O vector: large binaries in Term are
%% referenced, not copied (`term_to_iovec/1').
-spec frame(0..255, non_neg_integer(), non_neg_integer(), term()) -> iolist().
frame(Kind, Channel, Ref, Term) ->
    [<<Kind:8, Channel:32, Ref:64>> | erlang:term_to_iovec(Term)].

%% @doc Decodes a frame body from the port. `safe': Python cannot create atoms.
-spec decode(binary()) -> {ok, term()} | {error, {bad_term, atom()}}.
decode(Body) ->
    try binary_to_term(Body, [safe]) of
        Term -> {ok, Term}
    catch
        error:badarg -> {error, {bad_term, unknown_atom_or_malformed}}
    end.

%% @doc The channel a request from this process goes to: the waiting Python
%% thread while this process runs a callback for it, else any executor.
-spec channel() -> non_neg_integer().
channel() ->
    case get(?PY_CHANNEL_KEY) of
        undefined -> ?PY_ANY_CHANNEL;
        Channel -> Channel
    end.
