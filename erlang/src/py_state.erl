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

%% API.

%% @doc Creates the table; called in the process that is to own it.
-spec new_table() -> ok.
new_table() ->
    ?TABLE = ets:new(?TABLE, [named_table, public, set, {read_concurrency, true},
                              {write_concurrency, true}]),
    ok.

-spec fetch(term()) -> {ok, term()} | {error, not_found}.
fetch(Key) ->
    case ets:lookup(?TABLE, Key) of
        [{_, Value}] -> {ok, Value};
        [] -> {error, not_found}
    end.

-spec store(term(), term()) -> ok.
store(Key, Value) ->
    true = ets:insert(?TABLE, {Key, Value}),
    ok.

-spec remove(term()) -> ok.
remove(Key) ->
    true = ets:delete(?TABLE, Key),
    ok.

-spec keys() -> [term()].
keys() ->
    ets:select(?TABLE, [{{'$1', '_'}, [], ['$1']}]).

-spec clear() -> ok.
clear() ->
    true = ets:delete_all_objects(?TABLE),
    ok.

%% @doc Adds Amount to the integer under Key (0 when absent), atomically;
%% the new value. `badarg' when the value there is not an integer.
-spec incr(term(), integer()) -> integer().
incr(Key, Amount) when is_integer(Amount) ->
    ets:update_counter(?TABLE, Key, {2, Amount}, {Key, 0}).

%% @doc A state request from Python (`erlang.state_*'), as the handler got
%% it: `[Op | Args]' with Op a binary. The result becomes the Python value.
-spec python(list()) -> term().
python([<<"get">>, Key]) ->
    case fetch(Key) of
        {ok, Value} -> Value;
        {error, not_found} -> none
    end;
python([<<"set">>, Key, Value]) -> store(Key, Value), none;
python([<<"delete">>, Key]) -> remove(Key), none;
python([<<"keys">>]) -> keys();
python([<<"clear">>]) -> clear(), none;
python([<<"incr">>, Key, Amount]) when is_integer(Amount) -> incr(Key, Amount).
