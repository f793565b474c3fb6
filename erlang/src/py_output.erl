%% @doc Python's stdout and stderr, line by line, into the OTP logger.
%%
%% The port captures fds 1 and 2 (so `print()', `sys.stderr' and C
%% extensions alike) and sends chunks as `output' frames; the coordinator
%% forwards them here. Each complete line is logged at `notice' level with
%% metadata `#{erlang_python => output, stream => stdout | stderr, os_pid =>
%% OsPid}' (no `domain': OTP's default handler drops unknown domains), or
%% written to a device, as the application's
%% `output' setting says (`logger', `{device, IoDevice}' or `none').
%%
%% The atoms `stdout' and `stderr' appear in this module's code, so they
%% exist by the time a frame is decoded with `[safe]'.
%%
%% A flood of output must not hold up calls: this process is off the
%% coordinator's path, and when its mailbox is longer than ?MAX_BACKLOG it
%% drops chunks, counts the bytes, and logs how many it dropped.
-module(py_output).

-include("py_protocol.hrl").

-export([start_link/1]).
-export([init/1]).

-define(MAX_BACKLOG, 100000).
-define(MAX_LINE, 65536).

-record(state, {os_pid :: integer(), sink :: logger | none | {device, term()},
                partial = #{} :: #{atom() => binary()}, dropped = 0 :: non_neg_integer()}).

%% API.

-spec start_link(integer()) -> pid().
start_link(OsPid) ->
    proc_lib:spawn_link(?MODULE, init, [OsPid]).

%% Internal.

-spec init(integer()) -> no_return().
init(OsPid) ->
    Sink = application:get_env(erlang_python, output, logger),
    loop(#state{os_pid = OsPid, sink = Sink}).

loop(S0) ->
    receive
        {py_output, Body} ->
            S = case erlang:process_info(self(), message_queue_len) of
                    {message_queue_len, N} when N > ?MAX_BACKLOG ->
                        S0#state{dropped = S0#state.dropped + byte_size(Body)};
                    _ ->
                        report_dropped(chunk(Body, S0))
                end,
            loop(S);
        _Other ->
            loop(S0)
    end.

chunk(Body, S = #state{partial = Partial}) ->
    case py_protocol:decode(Body) of
        {ok, {Stream, Bytes}} when (Stream =:= stdout orelse Stream =:= stderr),
                                   is_binary(Bytes) ->
            Buffered = <<(maps:get(Stream, Partial, <<>>))/binary, Bytes/binary>>,
            {Lines, Rest} = split_lines(Buffered),
            [emit(Stream, Line, S) || Line <- Lines],
            S#state{partial = Partial#{Stream => Rest}};
        _ ->
            S
    end.

%% Complete lines, and the unfinished rest (cut at ?MAX_LINE bytes).
split_lines(Bin) ->
    Parts = binary:split(Bin, <<"\n">>, [global]),
    {Lines, [Rest]} = lists:split(length(Parts) - 1, Parts),
    case byte_size(Rest) > ?MAX_LINE of
        true -> {Lines ++ [Rest], <<>>};
        false -> {Lines, Rest}
    end.

emit(_Stream, _Line, #state{sink = none}) ->
    ok;
emit(Stream, Line, #state{sink = logger, os_pid = OsPid}) ->
    logger:notice("python[~p] ~s: ~ts", [OsPid, Stream, Line],
                  #{erlang_python => output, stream => Stream, os_pid => OsPid});
emit(Stream, Line, #state{sink = {device, Device}, os_pid = OsPid}) ->
    io:format(Device, "python[~p] ~s: ~ts~n", [OsPid, Stream, Line]).

report_dropped(S = #state{dropped = 0}) ->
    S;
report_dropped(S = #state{dropped = Bytes, os_pid = OsPid}) ->
    logger:warning("python[~p]: ~p bytes of output dropped: it came faster than it "
                   "could be logged", [OsPid, Bytes],
                   #{erlang_python => output}),
    S#state{dropped = 0}.
