%% @doc Checks the application environment when erlang_python starts.
%%
%% A bad value stops the start with `{bad_config, Key, Value, Expected}'
%% (Expected is a sentence), instead of a coordinator that crashes on it
%% again and again until the supervisor gives up.
-module(py_config).

-export([check/0, max_frame_limit/0]).

%% Frame sizes are C ints in erl_interface: a frame, and every offset in
%% it, must stay below 2 GiB. The port program applies the same limit.
-define(MAX_FRAME_LIMIT, 2147479552).

%% @doc The largest `max_frame_size' allowed: 2 GiB - 4 KiB.
-spec max_frame_limit() -> pos_integer().
max_frame_limit() ->
    ?MAX_FRAME_LIMIT.

%% @doc `ok', or the first key whose value is not valid.
-spec check() -> ok | {error, {bad_config, atom(), term(), binary()}}.
check() ->
    check(rules()).

check([]) ->
    ok;
check([{Key, Valid, Expected} | Rest]) ->
    case application:get_env(erlang_python, Key) of
        undefined ->
            check(Rest);
        {ok, Value} ->
            case Valid(Value) of
                true -> check(Rest);
                false -> {error, {bad_config, Key, Value, Expected}};
                {false, Why} -> {error, {bad_config, Key, Value, Why}}
            end
    end.

rules() ->
    [{python_path, fun(V) -> list_of(fun is_text/1, V) end,
      <<"a list of folder names (strings or binaries)">>},
     {env, fun(V) -> list_of(fun is_env_var/1, V) end,
      <<"a list of {Name, Value} strings (Value may be false)">>},
     {executor_threads, int_in(1, 1024), <<"an integer from 1 to 1024">>},
     {max_executor_threads, int_in(1, 1024), <<"an integer from 1 to 1024">>},
     {executor_idle_timeout, int_in(1, infinity), <<"a positive integer (ms)">>},
     {startup_timeout, int_in(1, infinity), <<"a positive integer (ms)">>},
     {call_timeout, timeout_value(), <<"a non-negative integer (ms) or infinity">>},
     {max_frame_size, int_in(64, ?MAX_FRAME_LIMIT),
      <<"an integer from 64 to 2147479552 (bytes)">>},
     {max_pending, int_in(1, infinity), <<"a positive integer">>},
     {cancel_grace, int_in(0, infinity), <<"a non-negative integer (ms)">>},
     {stop_grace, int_in(0, infinity), <<"a non-negative integer (ms)">>},
     {max_memory, limit(1 bsl 20), <<"infinity or an integer of at least 1048576 (bytes)">>},
     {max_cpu_seconds, limit(1), <<"infinity or a positive integer (seconds)">>},
     {max_new_atoms, int_in(0, infinity), <<"a non-negative integer">>},
     {max_state_entries, limit(0), <<"infinity or a non-negative integer">>},
     {output, fun is_output/1, <<"logger, none or {device, IoDevice}">>},
     {none_atom, fun(V) -> lists:member(V, [none, nil, undefined]) end,
      <<"none, nil or undefined">>},
     {restart_intensity, fun is_intensity/1,
      <<"{MaxRestarts, Seconds}: a non-negative and a positive integer">>},
     {python_logging, fun is_boolean/1, <<"true or false">>},
     {stdout_level, fun is_level/1, <<"a logger level: emergency, alert, critical, error, "
                                     "warning, notice, info or debug">>},
     {stderr_level, fun is_level/1, <<"a logger level: emergency, alert, critical, error, "
                                     "warning, notice, info or debug">>},
     {venv, fun is_venv/1, <<"undefined or the folder of a virtualenv (string or binary)">>}].

int_in(Min, Max) ->
    fun(V) -> is_integer(V) andalso V >= Min andalso (Max =:= infinity orelse V =< Max) end.

timeout_value() ->
    fun(infinity) -> true; (V) -> is_integer(V) andalso V >= 0 end.

limit(Min) ->
    fun(infinity) -> true; (V) -> is_integer(V) andalso V >= Min end.

list_of(Valid, L) when is_list(L) ->
    lists:all(Valid, L);
list_of(_, _) ->
    false.

is_text(B) when is_binary(B) -> true;
is_text(L) -> io_lib:char_list(L).

is_env_var({Name, false}) -> io_lib:char_list(Name) andalso Name =/= [];
is_env_var({Name, Value}) -> io_lib:char_list(Name) andalso Name =/= [] andalso io_lib:char_list(Value);
is_env_var(_) -> false.

is_output(logger) -> true;
is_output(none) -> true;
is_output({device, D}) -> is_pid(D) orelse is_atom(D);
is_output(_) -> false.

is_level(L) ->
    lists:member(L, [emergency, alert, critical, error, warning, notice, info, debug]).

%% The port program itself checks the folder (`--check-venv'): pyvenv.cfg,
%% the Python version it was made with, its interpreter. Its sentence
%% becomes the error's Expected.
is_venv(undefined) ->
    true;
is_venv(Dir) ->
    case is_text(Dir) andalso code:priv_dir(erlang_python) of
        false ->
            false;
        {error, _} ->
            {false, <<"erlang_python has no priv folder to find its port program in">>};
        Priv ->
            Port = open_port({spawn_executable, filename:join(Priv, "erlang_python_port")},
                             [{args, ["--check-venv", Dir]}, exit_status, stderr_to_stdout,
                              binary, hide]),
            case port_output(Port, <<>>) of
                {0, _} -> true;
                {_, Text} -> {false, string:trim(Text)}
            end
    end.

port_output(Port, Acc) ->
    receive
        {Port, {data, Bytes}} -> port_output(Port, <<Acc/binary, Bytes/binary>>);
        {Port, {exit_status, Status}} -> {Status, Acc}
    after 10000 ->
        catch port_close(Port),
        {timeout, <<"the port program did not answer --check-venv within 10 s">>}
    end.

is_intensity({N, S}) -> is_integer(N) andalso N >= 0 andalso is_integer(S) andalso S > 0;
is_intensity(_) -> false.
