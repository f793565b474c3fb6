%% @doc Python's logging records and its stdout/stderr lines in the OTP logger: levels, metadata, the level the port learns.
%%
%% The suite is a logger handler itself: events of the domain
%% [erlang_python] are sent to the test process as `{log_event, Event}'.
%% Python fixtures: `py_logging_SUITE_data/py_logging_fixtures.py'.
-module(py_logging_SUITE).

-include_lib("common_test/include/ct.hrl").

-export([all/0, init_per_testcase/2, end_per_testcase/2]).
-export([error_record_arrives_with_its_metadata/1,
         thread_name_and_exception_text_are_metadata/1,
         python_levels_map_to_logger_levels/1,
         records_below_the_primary_level_are_not_sent/1,
         a_level_change_reaches_the_port_without_a_call/1,
         root_level_set_by_python_is_left_alone/1,
         stdout_and_stderr_lines_have_their_own_levels_and_domain/1,
         handler_is_installed_when_logging_is_first_imported/1,
         forked_child_logs_through_stderr/1,
         python_logging_false_installs_no_handler/1,
         bad_logging_settings_stop_the_start/1]).
-export([log/2]).

-define(FIX, py_logging_fixtures).
-define(HANDLER, py_logging_suite_handler).

all() ->
    [error_record_arrives_with_its_metadata,
     thread_name_and_exception_text_are_metadata,
     python_levels_map_to_logger_levels,
     records_below_the_primary_level_are_not_sent,
     a_level_change_reaches_the_port_without_a_call,
     root_level_set_by_python_is_left_alone,
     stdout_and_stderr_lines_have_their_own_levels_and_domain,
     handler_is_installed_when_logging_is_first_imported,
     forked_child_logs_through_stderr,
     python_logging_false_installs_no_handler,
     bad_logging_settings_stop_the_start].

init_per_testcase(Case, Config) ->
    #{level := Primary} = logger:get_primary_config(),
    _ = application:stop(erlang_python),
    _ = application:unload(erlang_python),
    ok = application:load(erlang_python),
    ok = application:set_env(erlang_python, python_path, [?config(data_dir, Config)]),
    [ok = application:set_env(erlang_python, K, V) || {K, V} <- settings(Case)],
    ok = logger:add_handler(?HANDLER, ?MODULE, #{level => all, config => #{test => self()}}),
    [{primary_level, Primary} | Config].

end_per_testcase(_Case, Config) ->
    _ = logger:remove_handler(?HANDLER),
    ok = logger:set_primary_config(level, ?config(primary_level, Config)),
    _ = application:stop(erlang_python),
    ok.

settings(python_logging_false_installs_no_handler) -> [{python_logging, false}];
settings(_) -> [].

%% Cases.

error_record_arrives_with_its_metadata(_Config) ->
    {ok, _} = application:ensure_all_started(erlang_python),
    {ok, {File, Line}} = py:call(?FIX, log, [<<"x">>, 40, <<"boom">>]),
    #{level := error, msg := {"~ts", [<<"boom">>]},
      meta := #{domain := [erlang_python], erlang_python := logging,
                python_logger := "x", file := FileMeta, line := Line,
                thread := Thread, python_level := 40, os_pid := OsPid, time := Time}} =
        next_event(),
    FileMeta = unicode:characters_to_list(File),
    true = io_lib:char_list(Thread) andalso Thread =/= [],
    #{os_pid := OsPid} = py:stats(),
    %% Python's own timestamp, within a minute of ours.
    true = abs(os:system_time(microsecond) - Time) < 60000000,
    #{port := #{log_records_sent := 1, log_records_dropped := 0}} = py:stats().

thread_name_and_exception_text_are_metadata(_Config) ->
    {ok, _} = application:ensure_all_started(erlang_python),
    {ok, Line} = py:call(?FIX, log_in_thread, [<<"x.worker">>, <<"from a thread">>, <<"worker-7">>]),
    #{level := error, meta := #{python_logger := "x.worker", thread := "worker-7",
                                line := Line} = Meta1} = next_event(),
    false = maps:is_key(exception, Meta1),
    {ok, none} = py:call(?FIX, log_exception, [<<"x">>]),
    #{level := error, msg := {"~ts", [Message]}, meta := #{exception := Exception}} = next_event(),
    %% The message carries the traceback too, as Python's own output would.
    {match, _} = re:run(Exception, "^Traceback.*ZeroDivisionError: division by zero$",
                        [dotall]),
    {match, _} = re:run(Message, "^division failed\nTraceback", []).

python_levels_map_to_logger_levels(_Config) ->
    ok = logger:set_primary_config(level, all),
    {ok, _} = application:ensure_all_started(erlang_python),
    Levels = [{5, debug}, {10, debug}, {20, info}, {25, notice}, {30, warning}, {35, warning},
              {40, error}, {50, critical}, {60, alert}, {70, emergency}],
    [begin
         Text = integer_to_binary(N),
         {ok, _} = py:call(?FIX, log, [<<"levels">>, N, Text]),
         #{level := Level, msg := {"~ts", [Text]}, meta := #{python_level := N}} = next_event()
     end || {N, Level} <- Levels],
    %% The root logger follows the primary level (`all': every record is made).
    {ok, {[<<"LogHandler">>], 1}} = py:call(?FIX, root_handlers, []).

%% The acceptance case: with the primary level at error, an info record is
%% not sent; the handler's drop is counted on the port side.
records_below_the_primary_level_are_not_sent(_Config) ->
    {ok, _} = application:ensure_all_started(erlang_python),
    ok = logger:set_primary_config(level, error),
    ok = py:sync_log_level(),
    {ok, {_, 40}} = py:call(?FIX, root_handlers, []),
    {ok, none} = py:call(?FIX, log_below_level, [<<"x">>]),
    {ok, _} = py:call(?FIX, log, [<<"x">>, 40, <<"after the info records">>]),
    %% The first event to arrive is the error: neither info record came.
    #{level := error, msg := {"~ts", [<<"after the info records">>]}} = next_event(),
    #{port := #{log_records_sent := 1, log_records_dropped := 1}} = py:stats().

%% Without py:sync_log_level/0 the coordinator notices the change at its
%% next once-a-second look (its `sweep' message, sent here by hand) and
%% tells the port; the root level follows. The test waits for the port's
%% answer to reach the coordinator (traced).
a_level_change_reaches_the_port_without_a_call(_Config) ->
    {ok, _} = application:ensure_all_started(erlang_python),
    {ok, {_, 25}} = py:call(?FIX, root_handlers, []),
    ok = set_level_and_await_port(critical),
    {ok, {_, 50}} = py:call(?FIX, root_handlers, []),
    ok = set_level_and_await_port(debug),
    {ok, {_, 1}} = py:call(?FIX, root_handlers, []),
    {ok, _} = py:call(?FIX, log, [<<"x">>, 10, <<"debug now">>]),
    #{level := debug, msg := {"~ts", [<<"debug now">>]}} = next_event().

%% Once Python code sets the root level, the bridge stops moving it; the
%% primary level still decides what is sent.
root_level_set_by_python_is_left_alone(_Config) ->
    {ok, _} = application:ensure_all_started(erlang_python),
    {ok, none} = py:call(?FIX, set_root_level, [10]),
    ok = logger:set_primary_config(level, warning),
    ok = py:sync_log_level(),
    {ok, {_, 10}} = py:call(?FIX, root_handlers, []),
    {ok, _} = py:call(?FIX, log, [<<"x">>, 20, <<"info: made, not sent">>]),
    {ok, _} = py:call(?FIX, log, [<<"x">>, 30, <<"warning: sent">>]),
    #{level := warning, msg := {"~ts", [<<"warning: sent">>]}} = next_event(),
    #{port := #{log_records_sent := 1, log_records_dropped := 1}} = py:stats().

stdout_and_stderr_lines_have_their_own_levels_and_domain(_Config) ->
    ok = logger:set_primary_config(level, all),
    {ok, _} = application:ensure_all_started(erlang_python),
    {ok, none} = py:call(?FIX, write_streams, [<<"to stdout">>, <<"to stderr">>]),
    Events = [next_event(), next_event()],
    [#{level := info, msg := {_, [_, stdout, <<"to stdout">>]},
       meta := #{domain := [erlang_python], erlang_python := output, stream := stdout}}] =
        [E || E = #{meta := #{stream := stdout}} <- Events],
    [#{level := warning, msg := {_, [_, stderr, <<"to stderr">>]},
       meta := #{domain := [erlang_python], stream := stderr}}] =
        [E || E = #{meta := #{stream := stderr}} <- Events],
    %% The settings change them; the default handler lets the domain through.
    ok = application:stop(erlang_python),
    ok = application:set_env(erlang_python, stdout_level, debug),
    ok = application:set_env(erlang_python, stderr_level, error),
    ok = application:start(erlang_python),
    {ok, none} = py:call(?FIX, write_streams, [<<"out">>, <<"err">>]),
    Levels = lists:sort([{S, L} || #{level := L, meta := #{stream := S}}
                                       <- [next_event(), next_event()]]),
    [{stderr, error}, {stdout, debug}] = Levels,
    {ok, #{filters := Filters}} = logger:get_handler_config(default),
    {_, {_, {log, sub, [erlang_python]}}} = lists:keyfind(erlang_python, 1, Filters).

%% The handler goes on the root logger when `logging' is first imported, so
%% a port that never logs never imports it.
handler_is_installed_when_logging_is_first_imported(_Config) ->
    {ok, _} = application:ensure_all_started(erlang_python),
    {ok, false} = py:eval(<<"'logging' in __import__('sys').modules">>),
    {ok, [<<"LogHandler">>]} =
        py:eval(<<"[type(h).__name__ for h in __import__('logging').getLogger().handlers]">>),
    %% The module keeps its own loader.
    {ok, <<"SourceFileLoader">>} =
        py:eval(<<"type(__import__('logging').__loader__).__name__">>).

%% A child forked from the port shares its protocol pipe: its records go
%% to its stderr instead, which arrives as a captured stderr line, and the
%% port keeps working.
forked_child_logs_through_stderr(_Config) ->
    {ok, _} = application:ensure_all_started(erlang_python),
    {ok, 0} = py:call(?FIX, log_in_forked_child, [<<"x.child">>, <<"from the child">>]),
    #{level := warning, msg := {_, [_, stderr, <<"ERROR:x.child:from the child">>]},
      meta := #{stream := stderr}} = next_event(),
    #{port := #{log_records_sent := 0}} = py:stats(),
    {ok, _} = py:call(?FIX, log, [<<"x">>, 40, <<"parent still logs">>]),
    #{level := error, msg := {"~ts", [<<"parent still logs">>]}} = next_event().

python_logging_false_installs_no_handler(_Config) ->
    {ok, _} = application:ensure_all_started(erlang_python),
    {ok, {[], 30}} = py:call(?FIX, root_handlers, []),
    %% The class is there for code that wants it on a logger of its own.
    {ok, 0} = py:eval(<<"__import__('logging').getLogger('mine').addHandler(__import__('erlang')"
                        ".LogHandler()) or 0">>),
    {ok, _} = py:call(?FIX, log, [<<"mine">>, 40, <<"by hand">>]),
    #{level := error, meta := #{python_logger := "mine"}} = next_event().

bad_logging_settings_stop_the_start(_Config) ->
    [begin
         ok = application:set_env(erlang_python, Key, Value),
         {error, {{bad_config, Key, Value, Expected}, _}} = application:start(erlang_python),
         true = is_binary(Expected),
         ok = application:unset_env(erlang_python, Key)
     end || {Key, Value} <- [{python_logging, yes}, {stdout_level, loud},
                             {stderr_level, "warning"}]].

%% Internal.

next_event() ->
    receive
        {log_event, Event} -> Event
    after 10000 ->
        ct:fail(no_log_event)
    end.

%% Sets the primary level, makes the coordinator look at it now, and waits
%% until the port has answered the log_level request the coordinator sent
%% (by its own timer or this sweep: the only request the coordinator makes
%% itself, so the only reply it receives).
set_level_and_await_port(Level) ->
    Coordinator = whereis(py_coordinator),
    1 = erlang:trace(Coordinator, true, ['receive']),
    ok = logger:set_primary_config(level, Level),
    Coordinator ! sweep,
    receive
        {trace, Coordinator, 'receive', {py_reply, _, _}} -> ok
    after 10000 ->
        ct:fail(no_log_level_reply)
    end,
    erlang:trace(Coordinator, false, ['receive']),
    ok.

%% logger handler callback: forwards this application's events.
-spec log(logger:log_event(), logger_handler:config()) -> ok.
log(#{meta := #{domain := [erlang_python | _]}} = Event, #{config := #{test := Test}}) ->
    Test ! {log_event, Event},
    ok;
log(_Event, _Config) ->
    ok.
