%% @doc Object handles: results kept in Python (py:call/5 with
%% #{return => ref}), used through py:call_method/getattr/to_term, passed
%% back as arguments, and freed by py:release/1 or their owner's death.
-module(py_handles_SUITE).

-include_lib("common_test/include/ct.hrl").

-export([all/0, init_per_suite/1, end_per_suite/1]).
-export([a_handle_keeps_the_object_in_python/1,
         call_method_getattr_and_to_term_act_on_the_object/1,
         handles_as_arguments_arrive_as_the_object/1,
         release_frees_the_object/1,
         owner_death_frees_its_handles/1,
         owner_killed_mid_call_leaks_nothing/1,
         a_handle_after_a_port_restart_is_stale/1,
         a_restarted_py_refs_drops_every_object/1,
         bad_and_foreign_handles_are_clear_errors/1,
         options_of_call_5/1]).

-define(FIX, handles_fixture).

all() ->
    [a_handle_keeps_the_object_in_python,
     call_method_getattr_and_to_term_act_on_the_object,
     handles_as_arguments_arrive_as_the_object,
     release_frees_the_object,
     owner_death_frees_its_handles,
     owner_killed_mid_call_leaks_nothing,
     bad_and_foreign_handles_are_clear_errors,
     options_of_call_5,
     a_restarted_py_refs_drops_every_object,
     %% Last: it restarts the port.
     a_handle_after_a_port_restart_is_stale].

init_per_suite(Config) ->
    ok = py_test_helper:start([?config(data_dir, Config)]),
    Config.

end_per_suite(_Config) ->
    py_test_helper:stop().

a_handle_keeps_the_object_in_python(_Config) ->
    {ok, H} = py:call(py:context(), ?FIX, tracked, [<<"keep">>, [1, 2]], #{return => ref}),
    true = py:is_ref(H),
    false = py:is_ref(make_ref()),
    false = py:is_ref({'$py_ref', 1}),
    false = py:is_ref(<<"x">>),
    %% An object with no Erlang form is fine as a handle.
    {error, {'TypeError', _}} = py:call(?FIX, unconvertible, []),
    {ok, U} = py:call(py:context(), ?FIX, unconvertible, [], #{return => ref}),
    {ok, {<<"Unconvertible">>, none}} = py:call(?FIX, describe, [U]),
    ok = py:release(U),
    ok = py:release(H).

call_method_getattr_and_to_term_act_on_the_object(_Config) ->
    {ok, H} = py:call(py:context(), ?FIX, tracked, [<<"methods">>, [1]], #{return => ref}),
    {ok, 2} = py:call_method(H, add, [2]),
    {ok, 5} = py:call_method(H, <<"add">>, [3], #{times => 3}),
    {ok, [1, 2, 3, 3, 3]} = py:getattr(H, items),
    {ok, <<"methods">>} = py:getattr(H, "name"),
    {error, {'AttributeError', _}} = py:getattr(H, nope),
    {error, {'AttributeError', _}} = py:call_method(H, nope, []),
    %% erlang_python's older form, with a context first.
    {ok, 6} = py:call_method(default, H, add, [4]),
    %% A list object: to_term converts it, the handle stays valid.
    {ok, L} = py:call(py:context(), builtins, list, [[3, 1, 2]], #{return => ref}),
    {ok, [3, 1, 2]} = py:to_term(L),
    {ok, none} = py:call_method(L, sort, []),
    {ok, [1, 2, 3]} = py:to_term(L),
    {ok, 3} = py:call_method(L, '__len__', []),
    {error, {'TypeError', _}} = py:to_term(element(2, py:call(py:context(), ?FIX, unconvertible, [],
                                                               #{return => ref}))),
    ok = py:release(H),
    ok = py:release(L).

handles_as_arguments_arrive_as_the_object(_Config) ->
    {ok, A} = py:call(py:context(), ?FIX, tracked, [<<"arg_a">>], #{return => ref}),
    {ok, B} = py:call(py:context(), ?FIX, tracked, [<<"arg_b">>], #{return => ref}),
    {ok, {<<"Tracked">>, none}} = py:call(?FIX, describe, [A]),
    %% Nested anywhere: in a map in the keywords, in lists and tuples.
    {ok, {<<"Tracked">>, [<<"Tracked">>, <<"tuple">>]}} =
        py:call(?FIX, describe, [A], #{nested => #{objs => [B, {B, A}]}}),
    {ok, true} = py:call(?FIX, same, [A, A]),
    {ok, false} = py:call(?FIX, same, [A, B]),
    %% Through eval's locals too, and as the argument of a method call.
    {ok, <<"arg_b">>} = py:eval(<<"h.name">>, #{h => B}),
    {ok, 1} = py:call_method(A, add, [B]),
    {ok, true} = py:eval(<<"h.items[0] is b">>, #{h => A, b => B}),
    ok = py:release(A),
    ok = py:release(B).

release_frees_the_object(_Config) ->
    Start = live_handles(),
    {ok, H} = py:call(py:context(), ?FIX, tracked, [<<"released">>], #{return => ref}),
    {ok, false} = py:call(?FIX, finalised, [<<"released">>]),
    Plus1 = Start + 1,
    {Plus1, Plus1} = live_handles_settled(Plus1),
    ok = py:release(H),
    ok = py:release(H), % twice is fine
    wait_finalised(<<"released">>),
    {Start, Start} = live_handles_settled(Start),
    %% The port no longer holds it: a clear Python error.
    {error, {'ReferenceError', _}} = py:call_method(H, add, [1]),
    {error, {'ReferenceError', _}} = py:call(?FIX, describe, [H]).

owner_death_frees_its_handles(_Config) ->
    Start = live_handles(),
    Parent = self(),
    Owner = spawn(fun() ->
                          Hs = [begin
                                    Name = <<"owned", (integer_to_binary(I))/binary>>,
                                    {ok, H} = py:call(py:context(), ?FIX, tracked, [Name],
                                                      #{return => ref}),
                                    H
                                end || I <- lists:seq(1, 50)],
                          Parent ! {handles, self(), Hs},
                          receive never -> ok end
                  end),
    Hs = receive {handles, Owner, Got} -> Got after 30000 -> ct:fail(no_handles) end,
    Plus50 = Start + 50,
    {Plus50, Plus50} = live_handles_settled(Plus50),
    %% Another process may use them while their owner lives.
    {ok, <<"owned7">>} = py:getattr(lists:nth(7, Hs), name),
    exit(Owner, kill),
    [wait_finalised(<<"owned", (integer_to_binary(I))/binary>>) || I <- lists:seq(1, 50)],
    {Start, Start} = live_handles_settled(Start),
    {error, {'ReferenceError', _}} = py:to_term(hd(Hs)).

%% The owner dies while the call that makes its handle still runs: the
%% release may reach the port first, and the object must not be kept.
owner_killed_mid_call_leaks_nothing(_Config) ->
    Start = live_handles(),
    Owners = [spawn(fun() ->
                            py:call(py:context(), ?FIX, tracked,
                                    [<<"mid", (integer_to_binary(I))/binary>>], #{return => ref})
                    end) || I <- lists:seq(1, 200)],
    [exit(O, kill) || O <- Owners],
    {Start, Start} = live_handles_settled(Start).

a_handle_after_a_port_restart_is_stale(_Config) ->
    {ok, H} = py:call(py:context(), ?FIX, tracked, [<<"old_port">>], #{return => ref}),
    #{os_pid := OsPid} = py:stats(),
    os:cmd("kill -9 " ++ integer_to_list(OsPid)),
    py_test_helper:wait_until(new_port, fun() ->
        case catch py:stats() of
            #{os_pid := P} when P =/= OsPid -> {true, P};
            Other -> {false, Other}
        end
    end, 30000),
    {error, stale_ref} = py:call_method(H, add, [1]),
    {error, stale_ref} = py:getattr(H, name),
    {error, stale_ref} = py:to_term(H),
    {error, stale_ref} = py:release(H),
    %% Passed as an argument to the new Python process, it is not found.
    {error, {'ReferenceError', _}} = py:call(?FIX, describe, [H]),
    %% New handles work, and the count started again.
    {ok, H2} = py:call(py:context(), ?FIX, tracked, [<<"new_port">>], #{return => ref}),
    {ok, <<"new_port">>} = py:getattr(H2, name),
    {1, 1} = live_handles_settled(1),
    ok = py:release(H2).

%% py_refs alone crashes while the port lives on: nobody tracks the
%% objects any more, so they are all dropped and the old handles are stale.
a_restarted_py_refs_drops_every_object(_Config) ->
    {ok, H} = py:call(py:context(), ?FIX, tracked, [<<"orphan">>], #{return => ref}),
    #{os_pid := OsPid} = py:stats(),
    Old = whereis(py_refs),
    exit(Old, kill),
    py_test_helper:wait_until(py_refs_restarted, fun() ->
        case whereis(py_refs) of
            New when is_pid(New), New =/= Old -> {true, New};
            Other -> {false, Other}
        end
    end, 10000),
    wait_finalised(<<"orphan">>),
    {0, 0} = live_handles_settled(0),
    #{os_pid := OsPid} = py:stats(), % the same Python process
    {error, stale_ref} = py:getattr(H, name),
    {error, stale_ref} = py:release(H),
    {ok, H2} = py:call(py:context(), ?FIX, tracked, [<<"after_refs">>], #{return => ref}),
    {ok, <<"after_refs">>} = py:getattr(H2, name),
    ok = py:release(H2).

bad_and_foreign_handles_are_clear_errors(_Config) ->
    {'EXIT', {badarg, _}} = (catch py:call_method(not_a_handle, add, [])),
    {'EXIT', {badarg, _}} = (catch py:getattr(make_ref(), name)),
    {'EXIT', {badarg, _}} = (catch py:to_term({'$py_ref', 1, 2})),
    {'EXIT', {badarg, _}} = (catch py:release(42)),
    %% A handle made on another node: its key is that node's reference.
    {ok, H} = py:call(py:context(), ?FIX, tracked, [<<"foreign">>], #{return => ref}),
    Foreign = setelement(2, H, foreign_ref()),
    Node = node(element(2, Foreign)),
    {error, {foreign_ref, Node}} = py:getattr(Foreign, name),
    {error, {foreign_ref, Node}} = py:release(Foreign),
    %% Passed as an argument, the port does not know its key.
    {error, {'ReferenceError', _}} = py:call(?FIX, describe, [Foreign]),
    %% With a pool name rather than a context, the map is keyword arguments
    %% (erlang_python's pool form), and there is no pool of that name.
    {error, {no_pool, other_context}} =
        py:call(other_context, ?FIX, tracked, [<<"x">>], #{return => ref}),
    ok = py:release(H).

options_of_call_5(_Config) ->
    %% return => value is a plain call; kwargs and timeout apply to both.
    {ok, 3} = py:call(py:context(), builtins, len, [[1, 2, 3]], #{}),
    {ok, <<"a-b">>} = py:call(py:context(), '_operator', concat, [<<"a">>, <<"-b">>], #{return => value}),
    {ok, H} = py:call(py:context(), ?FIX, tracked, [<<"kw">>], #{kwargs => #{items => [7]},
                                                             return => ref, timeout => 5000}),
    {ok, [7]} = py:getattr(H, items),
    {error, {'ZeroDivisionError', _}} = py:call(py:context(), operator, truediv, [1, 0], #{return => ref}),
    {error, timeout} = py:call(py:context(), time, sleep, [2], #{return => ref, timeout => 100}),
    {'EXIT', {badarg, _}} = (catch py:call(py:context(), time, sleep, [0], #{return => object})),
    ok = py:release(H),
    {0, 0} = live_handles_settled(0).

%% Internal.

%% Erlang's count of live handles and the port's.
live_handles() ->
    #{handles := Erlang, port := #{handles := Port}} = py:stats(),
    Erlang = Port.

live_handles_settled(Expected) ->
    py_test_helper:wait_until({handles, Expected}, fun() ->
        #{handles := Erlang, port := #{handles := Port}} = py:stats(),
        {{Erlang, Port} =:= {Expected, Expected}, {Erlang, Port}}
    end, 10000).

wait_finalised(Name) ->
    py_test_helper:wait_until({finalised, Name}, fun() ->
        {ok, Done} = py:call(?FIX, finalised, [Name]),
        {Done, Done}
    end, 10000).

%% A reference of another node, as it would arrive from it.
foreign_ref() ->
    <<131, $Z, Rest/binary>> = term_to_binary(make_ref()),
    %% NEWER_REFERENCE_EXT: Len:16, Node atom, Creation:32, IDs.
    <<Len:16, _/binary>> = Rest,
    Node = term_to_binary('other@host'),
    <<131, NodeAtom/binary>> = Node,
    {_, AfterNode} = skip_atom(binary:part(Rest, 2, byte_size(Rest) - 2)),
    binary_to_term(<<131, $Z, Len:16, NodeAtom/binary, AfterNode/binary>>).

skip_atom(<<119, L, Name:L/binary, After/binary>>) -> {Name, After};   % SMALL_ATOM_UTF8_EXT
skip_atom(<<118, L:16, Name:L/binary, After/binary>>) -> {Name, After}; % ATOM_UTF8_EXT
skip_atom(<<100, L:16, Name:L/binary, After/binary>>) -> {Name, After}; % ATOM_EXT
skip_atom(<<115, L, Name:L/binary, After/binary>>) -> {Name, After}.   % SMALL_ATOM_EXT
