%% @doc Building and reading frames of the port protocol (see docs/protocol.md).
%%
%% Callers build their own request frames and decode their own replies, so
%% the coordinator only routes headers and never encodes or decodes payloads.
-module(py_protocol).

-include("py_protocol.hrl").

-export([frame/4, frame_size/1, decode/1, channel/0, port_atoms/0]).

%% Terms whose encoding may exceed this are encoded as an I/O vector.
-define(IOVEC_THRESHOLD, 65536).

%% API.

%% @doc A frame ready for `erlang:port_command/2' (the port adds the length):
%% `[Header | Body]'. A small term is encoded into one binary; a large one
%% into an I/O vector, where its large binaries are referenced, not copied
%% (`term_to_iovec/1'). For a small term `term_to_iovec/1' costs about three
%% times what `term_to_binary/1' does, a third of the Erlang side of a call.
-spec frame(0..255, non_neg_integer(), non_neg_integer(), term()) -> iolist().
frame(Kind, Channel, Ref, Term) ->
    Body = case erlang:external_size(Term) < ?IOVEC_THRESHOLD of
               true -> erlang:term_to_binary(Term);
               false -> erlang:term_to_iovec(Term)
           end,
    [?PY_HEADER(Kind, Channel, Ref) | Body].

%% @doc The size of a frame made by `frame/4' (without the port's length prefix).
-spec frame_size(iolist()) -> non_neg_integer().
frame_size([Header | Body]) when is_binary(Body) ->
    byte_size(Header) + byte_size(Body);
frame_size(Frame) ->
    erlang:iolist_size(Frame).

%% @doc Decodes a frame body from the port. `safe': Python cannot create atoms.
%% A body that fails names the first atom it holds that this node lacks.
-spec decode(binary()) -> {ok, term()} | {error, {bad_term, {unknown_atom, binary()} | malformed}}.
decode(Body) ->
    try binary_to_term(Body, [safe]) of
        Term -> {ok, Term}
    catch
        error:badarg -> {error, {bad_term, py_term_scan:why_bad(Body)}}
    end.

%% @doc The channel a request from this process goes to: the waiting Python
%% thread while this process runs a callback for it, else any executor.
-spec channel() -> non_neg_integer().
channel() ->
    case get(?PY_CHANNEL_KEY) of
        undefined -> ?PY_ANY_CHANNEL;
        Channel -> Channel
    end.

%% @doc The atoms the port writes on its own, named here so that they exist
%% in the node once this module is loaded (py_app loads it at start): replies
%% are decoded with `binary_to_term(_, [safe])', which makes no atom. Python
%% exception classes are sent as binaries (py_errors) and atoms of user data
%% come only through `erlang.new_atom'.
-spec port_atoms() -> [atom()].
port_atoms() ->
    [ok, error, true, false,
     nan, infinity, neg_infinity,         % float('nan'), float('inf'), float('-inf')
     none, nil, undefined,                % None, by the none_atom setting
     stdout, stderr,                      % output frames
     '$erlang_python', new_atom, state, whereis, stream_credit, stream_end, % built-ins
     py_stream, data, done,               % stream messages (erlang._stream)
     gc_stats, gc_count, gc_threshold, collections, collected, uncollectable,
     traced_memory_current, traced_memory_peak, % py:memory_stats/0 (erlang._node)
     exit, handler_died].
