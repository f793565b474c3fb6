%% The wire grammar between the coordinator and the port program.
%% Mirror of port/wire/protocol.hpp; written out in docs/protocol.md
%% (tests/python/test_protocol_tables.py checks that the three agree).
%%
%% Every {packet,4} frame: <<Kind:8, Channel:32, Ref:64, Term/binary>>.
%% Channel 0 is "any executor thread"; Channel N > 0 is one Python thread.

-define(PY_PROTOCOL_VERSION, 1).
-define(PY_HEADER_SIZE, 13).
%% The header, and a whole frame as the port delivers it (without the
%% length): the one place that spells the layout out, for building frames
%% and for matching them in a receive.
-define(PY_HEADER(Kind, Channel, Ref), <<Kind:8, Channel:32, Ref:64>>).
-define(PY_FRAME(Kind, Channel, Ref, Body), <<Kind:8, Channel:32, Ref:64, Body/binary>>).
-define(PY_ANY_CHANNEL, 0).

%% Erlang -> port
-define(PY_CALL, 1).      % {Module, Function, Args, Kwargs}
-define(PY_EVAL, 2).      % {Code, Locals}
-define(PY_EXEC, 3).      % Code
-define(PY_RESULT, 4).    % {ok, Value} | {error, {Class, Reason, Text, Stack}}; Ref 0: abort the channel
-define(PY_CANCEL, 5).    % {}: interrupt request Ref
-define(PY_STATS, 6).     % {}
-define(PY_LOG_LEVEL, 7). % Level: the OTP primary level (atom); reply {ok, none}

%% port -> Erlang
-define(PY_HELLO, 64).    % {Version, PythonVersion, OsPid}
-define(PY_REPLY, 65).    % {ok, Value} | {error, {ClassName, Message, Traceback}}
-define(PY_CALLBACK, 66). % {Name, Args} | {'$erlang_python', new_atom, Name} (built-in)
-define(PY_MESSAGE, 67).  % {Pid, Term}
-define(PY_OUTPUT, 68).   % {stdout | stderr, Bytes}
-define(PY_LOG, 69).      % {Level, Message, Meta}: one Python logging record

%% Every body from the port is decoded with binary_to_term(_, [safe]): Python
%% names only existing atoms; erlang.new_atom is the capped way to add one.

%% What callers find in persistent_term while a port is up.
-define(PY_PORT_KEY, {erlang_python, port}).
-record(py_port, {port :: port(), pending :: ets:tid(), max_frame :: pos_integer(),
                  max_pending :: pos_integer(), call_timeout :: timeout()}).

%% The process dictionary key a handler sets while it runs a callback, so
%% that py:call from inside goes back to the waiting Python thread.
-define(PY_CHANNEL_KEY, '$py_channel').

%% The process dictionary key holding a handler's {Port, Channel, InFlight},
%% so it can serve nested callbacks while it waits in py:call.
-define(PY_HANDLER_KEY, '$py_handler').
