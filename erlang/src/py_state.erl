%% @doc Shared state: a key-value table in the node that Erlang code
%% (`py:state_store/2', ...) and every Python thread (`erlang.state_get',
%% ...) read and write.
%%
%% A public ETS table created by the top supervisor, which owns it, so it
%% outlives port restarts and crashes of any worker. Counters are updated
%% with `ets:update_counter/4' and a default, so concurrent increments of a
%% new key lose nothing.
-module(py_state).

-export([new_table/0, fetch/1, store/2, remove/1, keys/0, clear/0, incr/2, python/1]).

-define(TABLE, py_state).
%% The number of keys, kept in the table under a key callers cannot use, so
%% that the `max_state_entries' cap is exact under concurrent stores.
-define(SIZE_KEY, '$py_state_size$').

%% API.

%% @doc Creates the table; called in the process that is to own it.
-spec new_table() -> ok.
new_table() ->
    ?TABLE = ets:new(?TABLE, [named_table, public, set, {read_concurrency, true},
                              {write_concurrency, true}]),
    ok.

-spec fetch(term()) -> {ok, term()} | {error, not_found}.
fetch(?SIZE_KEY) ->
    {error, not_found};
fetch(Key) ->
    case ets:lookup(?TABLE, Key) of
        [{_, Value}] -> {ok, Value};
        [] -> {error, not_found}
    end.

%% @doc Stores Value under Key. With the application setting
%% `max_state_entries' (default infinity), a new key past that many is
%% `{error, full}'; replacing a value always works.
-spec store(term(), term()) -> ok | {error, full | reserved_key}.
store(?SIZE_KEY, _) ->
    {error, reserved_key};
store(Key, Value) ->
    case ets:member(?TABLE, Key) orelse add_key(Key, Value) of
        true -> true = ets:insert(?TABLE, {Key, Value}), ok;
        added -> ok;
        false -> {error, full}
    end.

-spec remove(term()) -> ok.
remove(?SIZE_KEY) ->
    ok;
remove(Key) ->
    case ets:take(?TABLE, Key) of
        [_] -> _ = ets:update_counter(?TABLE, ?SIZE_KEY, {2, -1}, {?SIZE_KEY, 0}), ok;
        [] -> ok
    end.

-spec keys() -> [term()].
keys() ->
    ets:select(?TABLE, [{{'$1', '_'}, [{'=/=', '$1', ?SIZE_KEY}], ['$1']}]).

-spec clear() -> ok.
clear() ->
    true = ets:delete_all_objects(?TABLE),
    ok.

%% @doc Adds Amount to the integer under Key (0 when absent), atomically;
%% the new value. `badarg' when the value there is not an integer, and
%% `{state_full, Max}' for a new key past `max_state_entries'.
-spec incr(term(), integer()) -> integer().
incr(Key, Amount) when is_integer(Amount), Key =/= ?SIZE_KEY ->
    case ets:member(?TABLE, Key) orelse add_key(Key, 0) =/= false of
        true -> ets:update_counter(?TABLE, Key, {2, Amount}, {Key, 0});
        false -> error({state_full, max_entries()}, [Key, Amount])
    end.

%% @doc A state request from Python (`erlang.state_*'), as the handler got
%% it: `[Op | Args]' with Op a binary. The result becomes the Python value.
-spec python(list()) -> term().
python([<<"get">>, Key]) ->
    case fetch(Key) of
        {ok, Value} -> Value;
        {error, not_found} -> none
    end;
python([<<"set">>, Key, Value]) ->
    case store(Key, Value) of
        ok -> none;
        {error, full} -> error({state_full, max_entries()});
        {error, reserved_key} -> error({reserved_key, Key})
    end;
python([<<"delete">>, Key]) -> remove(Key), none;
python([<<"keys">>]) -> keys();
python([<<"clear">>]) -> clear(), none;
python([<<"incr">>, Key, Amount]) when is_integer(Amount) -> incr(Key, Amount).

%% Internal.

%% Adds Key with Value, counted: `added'; or `true' when another process
%% added it meanwhile (not counted twice: the caller stores over it); false
%% (and nothing counted) past the cap.
add_key(Key, Value) ->
    N = ets:update_counter(?TABLE, ?SIZE_KEY, {2, 1}, {?SIZE_KEY, 0}),
    case max_entries() of
        Max when is_integer(Max), N > Max ->
            _ = ets:update_counter(?TABLE, ?SIZE_KEY, {2, -1}),
            false;
        _ ->
            %% Another process may add the same key meanwhile: counted once.
            case ets:insert_new(?TABLE, {Key, Value}) of
                true -> added;
                false -> _ = ets:update_counter(?TABLE, ?SIZE_KEY, {2, -1}), true
            end
    end.

max_entries() ->
    application:get_env(erlang_python, max_state_entries, infinity).
