%% @doc Streams: generators collected into lists (py:stream, py:stream_eval)
%% and streamed to a process with a credit window (py:stream_start).
-module(py_stream_SUITE).

-include_lib("common_test/include/ct.hrl").

-export([all/0, init_per_suite/1, end_per_suite/1]).
-export([stream_collects_a_generator/1,
         stream_eval_collects_an_expression/1,
         stream_start_sends_every_item_then_done/1,
         async_generators_stream_too/1,
         a_generator_error_ends_the_stream/1,
         window_keeps_the_mailbox_small_and_the_generator_waits/1,
         window_keeps_the_port_memory_flat_over_a_long_stream/1,
         cancel_closes_the_generator/1,
         owner_death_closes_the_generator/1,
         another_owner_gets_the_messages/1]).

-define(FIX, stream_fixture).

all() ->
    [stream_collects_a_generator,
     stream_eval_collects_an_expression,
     stream_start_sends_every_item_then_done,
     async_generators_stream_too,
     a_generator_error_ends_the_stream,
     window_keeps_the_mailbox_small_and_the_generator_waits,
     window_keeps_the_port_memory_flat_over_a_long_stream,
     cancel_closes_the_generator,
     owner_death_closes_the_generator,
     another_owner_gets_the_messages].

init_per_suite(Config) ->
    ok = py_test_helper:start([?config(data_dir, Config)]),
    Config.

end_per_suite(_Config) ->
    py_test_helper:stop().

stream_collects_a_generator(_Config) ->
    {ok, [0, 1, 2, 3, 4]} = py:stream(?FIX, numbers, [5]),
    {ok, [<<"a">>, <<"b">>, <<"c">>]} = py:stream(?FIX, words, [], #{sep => <<" ">>}),
    {ok, [{1, <<"a">>}, {2, <<"b">>}]} = py:stream(builtins, enumerate, [[<<"a">>, <<"b">>]], #{start => 1}),
    {ok, [0, 1, 4]} = py:stream(?FIX, slow_squares, [3]),
    {error, {'ValueError', _}} = py:stream(?FIX, fails_after, [2]).

stream_eval_collects_an_expression(_Config) ->
    {ok, [0, 1, 4, 9, 16]} = py:stream_eval(<<"(x**2 for x in range(5))">>),
    {ok, [3, 4, 5]} = py:stream_eval(<<"filter(lambda x: x > 2, xs)">>, #{xs => [1, 2, 3, 4, 5]}),
    {ok, [{<<"a">>, 1}]} = py:stream_eval(<<"iter({'a': 1}.items())">>).

stream_start_sends_every_item_then_done(_Config) ->
    {ok, Ref} = py:stream_start(?FIX, numbers, [1000]),
    Items = collect(Ref),
    Items = lists:seq(0, 999).

async_generators_stream_too(_Config) ->
    {ok, Ref} = py:stream_start(?FIX, slow_squares, [5]),
    [0, 1, 4, 9, 16] = collect(Ref).

a_generator_error_ends_the_stream(_Config) ->
    {ok, Ref} = py:stream_start(?FIX, fails_after, [3]),
    {[0, 1, 2], {error, <<"ValueError: generator failed after 3">>}} = collect_until_end(Ref, []),
    %% A source that cannot start ends the same way.
    {ok, Ref2} = py:stream_start(builtins, no_such_function_here, []),
    {[], {error, <<"AttributeError: ", _/binary>>}} = collect_until_end(Ref2, []),
    %% Names that are no Python identifiers are refused, as in erlang_python.
    {'EXIT', {{invalid_python_identifier, <<"os')">>}, _}} = (catch py:stream(<<"os')">>, walk, [])),
    {'EXIT', {{invalid_python_identifier, <<"bad key">>}, _}} =
        (catch py:stream(math, sqrt, [], #{<<"bad key">> => 1})),
    {ok, [<<>>, <<"x">>]} = py:stream('os.path', split, [<<"x">>]), % dotted names are fine
    ok.

%% A million-item generator, window 4, a consumer that acks one item every
%% 10 ms: at no point are more than 4 stream messages in its mailbox, and
%% the generator has produced only what the window allowed.
window_keeps_the_mailbox_small_and_the_generator_waits(_Config) ->
    {ok, Ref} = py:stream_start(?FIX, numbers, [1000000], #{window => 4}),
    Max = consume_slowly(Ref, 100, 0),
    {ok, {Produced, false}} = py:call(?FIX, produced, []),
    ct:pal("100 items consumed with window 4: at most ~b stream messages queued; "
           "the generator produced ~b", [Max, Produced]),
    true = Max =< 4,
    true = Produced =< 100 + 4 + 1,
    ok = py:stream_cancel(Ref),
    wait_closed().

%% A 1,000,000-item generator, window 4, a consumer that acks one item
%% every 10 ms, for 12 s: about 1,000 items are consumed (not the whole
%% million, which would take hours at that pace); what is checked is that
%% nothing piles up meanwhile. The owner's mailbox never holds more than
%% the window, and the port's RSS (VmRSS, sampled once a second from the
%% first second on) grows by less than 8 MiB: a generator run ahead of the
%% window would put the rest of the million in the port's or the owner's
%% memory.
window_keeps_the_port_memory_flat_over_a_long_stream(_Config) ->
    #{os_pid := OsPid} = py:stats(),
    {ok, Ref} = py:stream_start(?FIX, numbers, [1000000], #{window => 4}),
    Start = erlang:monotonic_time(millisecond),
    {Consumed, MaxInMailbox, Samples} = consume_for(Ref, OsPid, Start + 12000, Start + 1000,
                                                    {0, 0, []}),
    {ok, {Produced, false}} = py:call(?FIX, produced, []),
    ok = py:stream_cancel(Ref),
    wait_closed(),
    [First | _] = Rss = lists:reverse(Samples),
    Growth = lists:max(Rss) - First,
    ct:pal("~b items consumed in 12 s (window 4, an ack every 10 ms); the generator "
           "produced ~b; at most ~b stream messages in the mailbox; port VmRSS "
           "samples (KiB, one a second from 1 s): ~w, growth ~b KiB",
           [Consumed, Produced, MaxInMailbox, Rss, Growth]),
    true = length(Rss) >= 10,
    true = MaxInMailbox =< 4,
    true = Produced =< Consumed + 4 + 1,
    true = Growth < 8 * 1024.

cancel_closes_the_generator(_Config) ->
    {ok, Ref} = py:stream_start(?FIX, numbers, [1000000], #{window => 2}),
    receive {py_stream, Ref, {data, 0}} -> ok after 5000 -> ct:fail(no_item) end,
    ok = py:stream_cancel(Ref),
    wait_closed(),
    %% Nothing but the items already sent arrives afterwards.
    flush_items(Ref),
    {ok, _} = py:call(math, sqrt, [4]), % the port serves on
    receive {py_stream, Ref, Other} -> ct:fail({after_cancel, Other}) after 200 -> ok end.

owner_death_closes_the_generator(_Config) ->
    Self = self(),
    Owner = spawn(fun() ->
                          {ok, Ref} = py:stream_start(?FIX, numbers, [1000000], #{window => 1}),
                          receive {py_stream, Ref, {data, _}} -> Self ! started end,
                          receive never -> ok end
                  end),
    receive started -> ok after 5000 -> ct:fail(not_started) end,
    exit(Owner, kill),
    wait_closed().

another_owner_gets_the_messages(_Config) ->
    Self = self(),
    Owner = spawn_link(fun() -> Self ! {got, collect_in(receive {ref, R} -> R end)} end),
    {ok, Ref} = py:stream_start(?FIX, numbers, [3], #{owner => Owner}),
    Owner ! {ref, Ref},
    receive {got, [0, 1, 2]} -> ok after 5000 -> ct:fail(owner_got_nothing) end,
    {'EXIT', {badarg, _}} = (catch py:stream_start(?FIX, numbers, [3], #{window => 0})),
    ok.

%% Internal.

collect(Ref) ->
    {Items, done} = collect_until_end(Ref, []),
    Items.

collect_in(Ref) -> collect(Ref).

collect_until_end(Ref, Acc) ->
    receive
        {py_stream, Ref, {data, X}} -> collect_until_end(Ref, [X | Acc]);
        {py_stream, Ref, done} -> {lists:reverse(Acc), done};
        {py_stream, Ref, {error, _} = E} -> {lists:reverse(Acc), E}
    after 10000 ->
        ct:fail({stream_stalled, length(Acc)})
    end.

%% Takes N items, one every 10 ms, acking each; the most stream messages
%% seen queued in the mailbox at once.
consume_slowly(_Ref, 0, Max) ->
    Max;
consume_slowly(Ref, N, Max) ->
    timer:sleep(10),
    Queued = length([M || {py_stream, R, _} = M <- element(2, process_info(self(), messages)),
                          R =:= Ref]),
    receive {py_stream, Ref, {data, _}} -> ok after 5000 -> ct:fail(stalled) end,
    ok = py:stream_ack(Ref),
    consume_slowly(Ref, N - 1, max(Max, Queued)).

%% Takes items until End, sleeping 10 ms before each ack; counts them, the
%% most stream messages in the mailbox (the one just taken included), and
%% samples the port's VmRSS once a second from NextSample on.
consume_for(Ref, OsPid, End, NextSample, {N, Max, Samples} = Acc) ->
    Now = erlang:monotonic_time(millisecond),
    if
        Now >= End ->
            Acc;
        Now >= NextSample ->
            consume_for(Ref, OsPid, End, NextSample + 1000,
                        {N, Max, [vm_rss_kib(OsPid) | Samples]});
        true ->
            receive {py_stream, Ref, {data, _}} -> ok after 5000 -> ct:fail(stalled) end,
            InMailbox = 1 + length([M || {py_stream, R, _} = M
                                             <- element(2, process_info(self(), messages)),
                                         R =:= Ref]),
            timer:sleep(10),
            ok = py:stream_ack(Ref),
            consume_for(Ref, OsPid, End, NextSample, {N + 1, max(Max, InMailbox), Samples})
    end.

vm_rss_kib(OsPid) ->
    {ok, Status} = file:read_file("/proc/" ++ integer_to_list(OsPid) ++ "/status"),
    {match, [Kib]} = re:run(Status, <<"VmRSS:\\s+(\\d+) kB">>, [{capture, all_but_first, binary}]),
    binary_to_integer(Kib).

wait_closed() ->
    py_test_helper:wait_until(generator_closed,
                              fun() ->
                                      {ok, {N, Closed}} = py:call(?FIX, produced, []),
                                      {Closed, N}
                              end, 10000).

flush_items(Ref) ->
    receive {py_stream, Ref, {data, _}} -> flush_items(Ref) after 0 -> ok end.
