%% @doc Checks the application environment when erlang_python starts.
%%
%% A bad value stops the start with `{bad_config, Key, Value, Expected}'
%% (Expected is a sentence), instead of a coordinator that crashes on it
%% again and again until the supervisor gives up.
-module(py_config).

-export([check/0, max_frame_limit/0, pool_settings/2, configured_pools/0]).

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
    case check(rules()) of
        ok ->
            case configured_pools() of
                {ok, _} -> ok;
                {error, _} = Error -> Error
            end;
        Error ->
            Error
    end.

%% The settings a pool may set for itself; the others are the application's.
-define(POOL_KEYS, [size, init, executor_threads, max_executor_threads, python_path, venv, env,
                    max_memory, max_cpu_seconds, call_timeout, max_pending,
                    restart_intensity]).
%% What a coordinator reads, from the pool's settings or the application's.
-define(MEMBER_KEYS, [executor_threads, max_executor_threads, executor_idle_timeout,
                      max_frame_size, max_memory, max_cpu_seconds, none_atom, python_path,
                      env, venv, startup_timeout, max_pending, call_timeout, cancel_grace,
                      stop_grace, restart_intensity]).

%% @doc The whole settings of pool Name: Opts (a map or a list of pairs)
%% over the application's. An unknown key or a bad value is
%% `{error, {bad_pool_option, Name, Key, Value, Expected}}'.
-spec pool_settings(atom(), map() | [{atom(), term()}]) ->
          {ok, map()} | {error, {bad_pool_option, atom(), term(), term(), binary()}}.
pool_settings(Name, Opts) when is_list(Opts) ->
    case lists:all(fun({K, _}) -> is_atom(K); (_) -> false end, Opts) of
        true -> pool_settings(Name, maps:from_list(Opts));
        false -> {error, {bad_pool_option, Name, options, Opts,
                          <<"a map or a list of {Key, Value} pairs">>}}
    end;
pool_settings(Name, Opts) when is_map(Opts) ->
    Rules = [pool_rule(K) || K <- ?POOL_KEYS],
    Checked = [check_pool_option(Name, K, V, lists:keyfind(K, 1, Rules))
               || {K, V} <- lists:sort(maps:to_list(Opts))],
    case [E || {error, _} = E <- Checked] of
        [] ->
            App = maps:from_list([{K, app_env(K)} || K <- ?MEMBER_KEYS]),
            Defaults = #{size => 1, init => undefined},
            {ok, maps:merge(maps:merge(Defaults, App), Opts)};
        [First | _] ->
            First
    end;
pool_settings(Name, Opts) ->
    {error, {bad_pool_option, Name, options, Opts, <<"a map or a list of {Key, Value} pairs">>}}.

%% @doc The pools of the `pools' setting with their whole settings, the
%% default pool first (size 1 unless the setting names it).
-spec configured_pools() -> {ok, [{atom(), map()}]} | {error, term()}.
configured_pools() ->
    Pools = application:get_env(erlang_python, pools, []),
    List = if is_map(Pools) -> maps:to_list(Pools); true -> Pools end,
    case is_list(List) andalso lists:all(fun({N, _}) -> is_atom(N); (_) -> false end, List) of
        false ->
            {error, {bad_config, pools, Pools,
                     <<"a list of {Name, Options} (or a map Name => Options), Name an atom">>}};
        true ->
            Named = case lists:keymember(default, 1, List) of
                        true -> List;
                        false -> [{default, #{}} | List]
                    end,
            Default = lists:keyfind(default, 1, Named),
            Ordered = [Default | lists:keydelete(default, 1, Named)],
            settle(Ordered, [])
    end.

settle([], Acc) ->
    {ok, lists:reverse(Acc)};
settle([{Name, Opts} | Rest], Acc) ->
    case pool_settings(Name, Opts) of
        {ok, Settings} -> settle(Rest, [{Name, Settings} | Acc]);
        Error -> Error
    end.

check_pool_option(Name, Key, Value, false) ->
    {error, {bad_pool_option, Name, Key, Value, <<"a pool setting: one of size, init, "
                                                  "executor_threads, max_executor_threads, "
                                                  "python_path, venv, env, max_memory, "
                                                  "max_cpu_seconds, call_timeout, max_pending, "
                                                  "restart_intensity">>}};
check_pool_option(Name, Key, Value, {Key, Valid, Expected}) ->
    case Valid(Value) of
        true -> ok;
        false -> {error, {bad_pool_option, Name, Key, Value, Expected}};
        {false, Why} -> {error, {bad_pool_option, Name, Key, Value, Why}}
    end.

pool_rule(size) ->
    {size, int_in(1, 1024), <<"an integer from 1 to 1024">>};
pool_rule(init) ->
    {init, fun(undefined) -> true; (V) -> is_binary(V) orelse io_lib:char_list(V) end,
     <<"undefined or Python source (a binary or a string)">>};
pool_rule(Key) ->
    lists:keyfind(Key, 1, rules()).

app_env(Key) ->
    {ok, Value} = application:get_env(erlang_python, Key),
    Value.

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
