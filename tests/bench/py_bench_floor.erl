%% @doc The raw floor: this process owns an echo port and does port_command + receive itself.
%%
%% Requests and replies are encoded and decoded exactly as `py' does
%% (`py_protocol:frame/4', `binary_to_term(_, [safe])'), but
%% without the pending table, the coordinator hop or the handler processes.
-module(py_bench_floor).

-include("py_protocol.hrl").

-export([open/2, close/1, call/4, reverse/4, start_to_first_result/2, os_pid/1]).

%% @doc Opens Exe as a port with Args and waits for its hello.
-spec open(string(), [string()]) -> port().
open(Exe, Args) ->
    Port = open_port({spawn_executable, Exe},
                     [{packet, 4}, binary, exit_status, use_stdio, {args, Args}]),
    receive
        {Port, {data, <<?PY_HELLO, _:32, _:64, _/binary>>}} -> Port;
        {Port, {exit_status, S}} -> error({echo_port_failed, Exe, S})
    after 30000 ->
        error({echo_port_timeout, Exe})
    end.

%% @doc Closes the port and waits for the program to exit.
-spec close(port()) -> ok.
close(Port) ->
    port_close(Port),
    receive {Port, {exit_status, _}} -> ok after 0 -> ok end.

-spec os_pid(port()) -> integer().
os_pid(Port) ->
    {os_pid, Pid} = erlang:port_info(Port, os_pid),
    Pid.

%% @doc One call frame {Module, Function, Args, #{}}, answered by the echo port.
-spec call(port(), binary(), binary(), list()) -> {ok, term()} | {error, term()}.
call(Port, Module, Function, Args) ->
    Ref = erlang:unique_integer([positive]),
    true = erlang:port_command(Port, py_protocol:frame(?PY_CALL, ?PY_ANY_CHANNEL, Ref,
                                                       {Module, Function, Args, #{}})),
    receive
        {Port, {data, <<?PY_REPLY, _:32, Ref:64, Body/binary>>}} ->
            binary_to_term(Body, [safe])
    end.

%% @doc Has the echo port call Erlang back Count times from Threads threads
%% (Mode `inline': the port's reading thread, no hand-off; `threads': one
%% hand-off per call). This process answers each callback with Fun(Args).
%% Returns {ElapsedNs, RoundTripNs} as measured inside the port.
-spec reverse(port(), pos_integer(), pos_integer(), inline | threads) ->
          {integer(), [integer()]}.
reverse(Port, Count, Threads, Mode) ->
    Ref = erlang:unique_integer([positive]),
    true = erlang:port_command(Port, py_protocol:frame(?PY_CALL, ?PY_ANY_CHANNEL, Ref,
                                                       {<<"__bench__">>, <<"reverse">>,
                                                        [Count, Threads, Mode], #{}})),
    serve(Port, Ref, py_bench_run:add_function()).

serve(Port, Ref, Fun) ->
    receive
        {Port, {data, <<?PY_CALLBACK, Channel:32, CRef:64, Body/binary>>}} ->
            {_Name, Args} = binary_to_term(Body, [safe]),
            true = erlang:port_command(Port, py_protocol:frame(?PY_RESULT, Channel, CRef,
                                                               {ok, Fun(Args)})),
            serve(Port, Ref, Fun);
        {Port, {data, <<?PY_REPLY, _:32, Ref:64, Body/binary>>}} ->
            {ok, {Elapsed, [_ | _] = Samples}} = binary_to_term(Body, [safe]),
            {Elapsed, Samples}
    end.

%% @doc Milliseconds from open_port to the first echo of 1 + 2.
-spec start_to_first_result(string(), [string()]) -> float().
start_to_first_result(Exe, Args) ->
    {Ms, Port} = py_bench_stats:time_ms(
                   fun() ->
                           P = open(Exe, Args),
                           {ok, 3} = call(P, <<"operator">>, <<"add">>, [1, 2]),
                           P
                   end),
    close(Port),
    Ms.
