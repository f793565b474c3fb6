%% @doc What the Common Test suites share: starting the application with
%% their Python fixtures on the path, and waiting for a condition.
-module(py_test_helper).

-export([start/1, start/2, stop/0, wait_until/3, wait_for_events/2]).

%% @doc Loads and starts erlang_python with Folders put in front of sys.path.
-spec start([file:filename()]) -> ok.
start(Folders) ->
    start(Folders, []).

%% @doc start/1 with more application settings, set before the start.
-spec start([file:filename()], [{atom(), term()}]) -> ok.
start(Folders, Settings) ->
    %% Loading first: settings made before the load would be overwritten by
    %% the defaults of the .app file.
    ok = application:load(erlang_python),
    [ok = application:set_env(erlang_python, K, V)
     || {K, V} <- [{python_path, Folders} | Settings]],
    {ok, _} = application:ensure_all_started(erlang_python),
    ok.

-spec stop() -> ok.
stop() ->
    _ = application:stop(erlang_python),
    ok.

%% @doc Polls Fun every 20 ms until it returns `{true, Value}' (Value is
%% returned) and fails the case after TimeoutMs with What and the last
%% `{false, Seen}'.
-spec wait_until(term(), fun(() -> {boolean(), term()}), non_neg_integer()) -> term().
wait_until(What, Fun, TimeoutMs) ->
    poll(What, Fun, erlang:monotonic_time(millisecond) + TimeoutMs).

%% @doc Waits until the fixture module Fixture's `events()' holds every one
%% of Expected (in any order, among others).
-spec wait_for_events(atom(), [term()]) -> [term()].
wait_for_events(Fixture, Expected) ->
    wait_until({events, Expected},
               fun() ->
                       {ok, Events} = py:call(Fixture, events, []),
                       {lists:sort(Expected) -- lists:sort(Events) =:= [], Events}
               end, 10000).

poll(What, Fun, Deadline) ->
    case Fun() of
        {true, Value} ->
            Value;
        {false, Seen} ->
            case erlang:monotonic_time(millisecond) > Deadline of
                true -> ct:fail({timeout_waiting_for, What, Seen});
                false -> timer:sleep(20), poll(What, Fun, Deadline)
            end
    end.
