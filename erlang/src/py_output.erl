%% @doc Python's stdout and stderr, line by line, and its logging records, into the OTP logger.
%%
%% The port captures fds 1 and 2 (so `print()', `sys.stderr' and C
%% extensions alike) and sends chunks as `output' frames; the coordinator
%% forwards them here. Each complete line is logged at the stream's level
%% (settings `stdout_level', default `info', and `stderr_level', default
%% `warning') with metadata `#{domain => [erlang_python], erlang_python =>
%% output, stream => stdout | stderr, os_pid => OsPid}', or written to a
%% device, as the application's `output' setting says (`logger',
%% `{device, IoDevice}' or `none'). py_app lets the domain through OTP's
%% `default' handler, which drops unknown domains.
%%
%% Python logging records come as `log' frames `{Level, Message, Meta}'
%% (python/erlang/_logging.py) and are logged at Level with Meta plus
%% `domain', `erlang_python => logging' and `os_pid', whatever `output' says.
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

-define(LEVELS, [emergency, alert, critical, error, warning, notice, info, debug]).

-record(state, {os_pid :: integer(), sink :: logger | none | {device, term()},
                levels :: #{stdout | stderr => logger:level()},
                partial = #{} :: #{atom() => binary()}, dropped = 0 :: non_neg_integer(),
                dropped_records = 0 :: non_neg_integer()}).

%% API.

-spec start_link(integer()) -> pid().
start_link(OsPid) ->
    proc_lib:spawn_link(?MODULE, init, [OsPid]).

%% Internal.

-spec init(integer()) -> no_return().
init(OsPid) ->
    Sink = application:get_env(erlang_python, output, logger),
    Levels = #{stdout => application:get_env(erlang_python, stdout_level, info),
               stderr => application:get_env(erlang_python, stderr_level, warning)},
    loop(#state{os_pid = OsPid, sink = Sink, levels = Levels}).

loop(S0) ->
    receive
        {py_output, Body} ->
            S = case backlogged() of
                    true -> S0#state{dropped = S0#state.dropped + byte_size(Body)};
                    false -> report_dropped(chunk(Body, S0))
                end,
            loop(S);
        {py_log, Body} ->
            S = case backlogged() of
                    true -> S0#state{dropped_records = S0#state.dropped_records + 1};
                    false -> report_dropped(log_record(Body, S0))
                end,
            loop(S);
        _Other ->
            loop(S0)
    end.

backlogged() ->
    {message_queue_len, N} = erlang:process_info(self(), message_queue_len),
    N > ?MAX_BACKLOG.

%% One Python logging record; Meta's keys are atoms of this module.
log_record(Body, S = #state{os_pid = OsPid}) ->
    case py_protocol:decode(Body) of
        {ok, {Level, Message, Meta}} when is_binary(Message), is_map(Meta) ->
            case lists:member(Level, ?LEVELS) of
                true ->
                    logger:log(Level, "~ts", [Message],
                               maps:fold(fun log_meta/3,
                                         #{domain => [erlang_python], erlang_python => logging,
                                           os_pid => OsPid}, Meta));
                false ->
                    ok
            end;
        _ ->
            ok
    end,
    S.

%% Names are strings, as OTP's own `file' (logger_formatter prints them
%% plainly); the traceback stays a binary; `time' is logger's own timestamp.
log_meta(Key, Name, Acc) when (Key =:= file orelse Key =:= python_logger orelse Key =:= thread),
                              is_binary(Name) ->
    Acc#{Key => unicode:characters_to_list(Name)};
log_meta(exception, Text, Acc) when is_binary(Text) ->
    Acc#{exception => Text};
log_meta(Key, Value, Acc) when (Key =:= line orelse Key =:= time orelse Key =:= python_level),
                               is_integer(Value) ->
    Acc#{Key => Value};
log_meta(_Key, _Value, Acc) ->
    Acc.

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
emit(Stream, Line, #state{sink = logger, os_pid = OsPid, levels = Levels}) ->
    logger:log(maps:get(Stream, Levels), "python[~p] ~s: ~ts", [OsPid, Stream, Line],
               #{domain => [erlang_python], erlang_python => output, stream => Stream,
                 os_pid => OsPid});
emit(Stream, Line, #state{sink = {device, Device}, os_pid = OsPid}) ->
    io:format(Device, "python[~p] ~s: ~ts~n", [OsPid, Stream, Line]).

report_dropped(S = #state{dropped = 0, dropped_records = 0}) ->
    S;
report_dropped(S = #state{dropped = 0, dropped_records = Records, os_pid = OsPid}) ->
    logger:warning("python[~p]: ~p logging records dropped: they came faster than they "
                   "could be logged", [OsPid, Records],
                   #{domain => [erlang_python], erlang_python => logging}),
    S#state{dropped_records = 0};
report_dropped(S = #state{dropped = Bytes, os_pid = OsPid}) ->
    logger:warning("python[~p]: ~p bytes of output dropped: it came faster than it "
                   "could be logged", [OsPid, Bytes],
                   #{domain => [erlang_python], erlang_python => output}),
    report_dropped(S#state{dropped = 0}).
