%% @doc The type mapping both ways, the atom policy, and two round-trip
%% properties: PropEr (Erlang terms through a Python identity function) and
%% Hypothesis (Python values through an Erlang identity function, run inside
%% the port). The Python side is py_types_SUITE_data/types_fixture.py.
%%
%% == What cannot round-trip, and is not generated ==
%% <ul>
%% <li>`nil' and `undefined' become Python `None', which comes back as
%%     `none' (so `none' itself is generated, the other two are not).</li>
%% <li>`{bytes, Binary}' becomes Python `bytes', which comes back as the bare
%%     binary. Tuples `{bytes, X}' with X not a binary are generated.</li>
%% <li>Maps whose keys are equal in Python though distinct in Erlang
%%     (`1' and `1.0', `true' and `1', an atom and the binary of its name,
%%     `none' and `nil'): a Python dict cannot hold both, and decoding such a
%%     map is an error (tested on its own). The generator drops the later key.</li>
%% <li>NaN, infinities: Erlang has no such floats. In OTP 25 `-0.0 =:= 0.0',
%%     so a negative zero compares equal whichever way it comes back.</li>
%% </ul>
%% Invalid UTF-8 binaries become `bytes' and come back as the same binary;
%% strings (lists of integers, STRING_EXT on the wire) are lists both ways.
-module(py_types_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("proper/include/proper.hrl").

%% The PropEr generator, for trying terms by hand: proper_gen:pick(py_types_SUITE:any_term()).
-export([any_term/0]).
-export([all/0, init_per_suite/1, end_per_suite/1]).
-export([proper_terms_round_trip/1,
         hypothesis_values_round_trip/1,
         python_types_map_to_natural_terms/1,
         numpy_is_imported_lazily_and_converts/1,
         unsupported_objects_raise_type_error/1,
         bytes_tuple_forces_bytes/1,
         map_keys_of_any_type_round_trip/1,
         map_keys_equal_in_python_are_an_error/1,
         deep_nesting_round_trips/1,
         million_strings_make_no_atoms/1,
         exception_class_names_make_no_atoms/1,
         unknown_atom_from_python_is_an_error/1,
         unknown_atom_is_named_behind_any_term/1,
         new_atom_creates_an_atom/1,
         new_atom_is_capped/1]).

-define(FIXTURE, types_fixture).
-define(LONG, 600000).

all() ->
    [proper_terms_round_trip,
     hypothesis_values_round_trip,
     python_types_map_to_natural_terms,
     numpy_is_imported_lazily_and_converts,
     unsupported_objects_raise_type_error,
     bytes_tuple_forces_bytes,
     map_keys_of_any_type_round_trip,
     map_keys_equal_in_python_are_an_error,
     deep_nesting_round_trips,
     million_strings_make_no_atoms,
     exception_class_names_make_no_atoms,
     unknown_atom_from_python_is_an_error,
     unknown_atom_is_named_behind_any_term,
     new_atom_creates_an_atom,
     new_atom_is_capped].

init_per_suite(Config) ->
    %% Non-Latin-1 and Latin-1 atoms used by both properties must exist first.
    _ = [binary_to_atom(N, utf8) || N <- [<<"héllo"/utf8>>, <<"日本語"/utf8>>]],
    ok = application:load(erlang_python),
    ok = application:set_env(erlang_python, python_path, [?config(data_dir, Config)]),
    start(),
    Config.

end_per_suite(_Config) ->
    ok = application:stop(erlang_python).

start() ->
    {ok, _} = application:ensure_all_started(erlang_python),
    ok = py:register_function(identity, fun([X]) -> X end).

restart() ->
    ok = application:stop(erlang_python),
    start().

%% ---- properties -----------------------------------------------------------

proper_terms_round_trip(_Config) ->
    Prop = ?FORALL(T, any_term(),
                   ?WHENFAIL(ct:pal("~p~ncame back as~n~p", [T, call(identity, [T])]),
                             call(identity, [T]) =:= {ok, T})),
    case proper:quickcheck(Prop, [{numtests, 10000}, {max_size, 12}, {to_file, user}]) of
        true -> ok;
        _ -> ct:fail({counterexample, proper:counterexample()})
    end.

hypothesis_values_round_trip(_Config) ->
    {ok, #{<<"examples">> := N, <<"failure">> := Failure}} =
        py:call(?FIXTURE, run_hypothesis, [2000], #{}, ?LONG),
    ct:pal("Hypothesis ran ~b examples", [N]),
    none = Failure,
    true = N >= 2000.

%% ---- Python -> Erlang -----------------------------------------------------

python_types_map_to_natural_terms(_Config) ->
    {ok, S} = call(python_samples, []),
    [true, false] = maps:get(<<"bool">>, S),
    2 = maps:get(<<"int_enum">>, S),
    <<"abc">> = maps:get(<<"str_subclass">>, S),
    <<0, 1>> = maps:get(<<"bytearray">>, S),
    <<"view">> = maps:get(<<"memoryview">>, S),
    [1, 2, 3] = maps:get(<<"set">>, S),
    [<<"a">>, <<"b">>] = maps:get(<<"frozenset">>, S),
    [1, <<"a">>] = lists:sort(maps:get(<<"mixed_set">>, S)),
    [<<"k">>] = maps:get(<<"dict_keys">>, S),
    [0, 1, 2] = maps:get(<<"range">>, S),
    #{<<"x">> := 1, <<"y">> := 2} = maps:get(<<"registered">>, S),
    {kelvin, 300} = maps:get(<<"dunder">>, S),
    none = maps:get(<<"none">>, S),
    nan = maps:get(<<"nan">>, S),
    [infinity, neg_infinity] = maps:get(<<"inf">>, S),
    Big = -(1 bsl 200),
    Big = maps:get(<<"bignum">>, S).

numpy_is_imported_lazily_and_converts(_Config) ->
    %% A fresh port: nothing else in this suite has imported numpy there.
    restart(),
    {ok, false} = call(numpy_loaded, []),
    {ok, N} = call(numpy_samples, []),
    #{<<"int64">> := 7, <<"float32">> := 0.5, <<"float64">> := 2.5, <<"bool">> := true,
      <<"vector">> := [0, 1, 2], <<"matrix">> := [[1.5, 2.5], [3.5, 4.5]],
      <<"zero_d">> := 9, <<"str">> := <<"s">>} = N,
    {ok, true} = call(numpy_loaded, []).

unsupported_objects_raise_type_error(_Config) ->
    {error, {'TypeError', M1}} = call(unsupported, []),
    {match, _} = re:run(M1, "type 'object'"),
    {error, {'TypeError', M2}} = call(generator, []),
    {match, _} = re:run(M2, "type 'generator'.*list"),
    {error, {'TypeError', M3}} = py:eval(<<"1j">>),
    {match, _} = re:run(M3, "'complex'").

%% ---- Erlang -> Python -----------------------------------------------------

bytes_tuple_forces_bytes(_Config) ->
    {ok, <<"bytes">>} = py:eval(<<"type(x).__name__">>, #{x => {bytes, <<"abc">>}}),
    {ok, <<"str">>} = py:eval(<<"type(x).__name__">>, #{x => <<"abc">>}),
    {ok, <<"bytes">>} = py:eval(<<"type(x).__name__">>, #{x => <<255>>}),
    %% Not a binary inside: an ordinary tuple.
    {ok, {bytes, 1}} = call(identity, [{bytes, 1}]),
    {ok, <<"abc">>} = call(identity, [{bytes, <<"abc">>}]).

map_keys_of_any_type_round_trip(_Config) ->
    M = #{[1, 2] => list, {1, [2]} => tuple_with_list, #{k => [v]} => map,
          [a | b] => improper, [] => nil_list, {} => empty_tuple, <<255>> => bytes,
          self() => pid, 1 => int, 2.5 => float, ok => atom},
    {ok, M} = call(identity, [M]),
    {ok, <<"FrozenList">>} = py:eval(<<"type(next(k for k in m if k != ())).__name__">>,
                                     #{m => #{[1] => a}}),
    %% [1] and {1} stay two keys.
    {ok, #{[1] := a, {1} := b}} = call(identity, [#{[1] => a, {1} => b}]).

map_keys_equal_in_python_are_an_error(_Config) ->
    [begin
         {error, {'ValueError', Msg}} = call(identity, [M]),
         {match, _} = re:run(Msg, "equal in Python")
     end || M <- [#{1 => a, 1.0 => b}, #{true => a, 1 => b}, #{ok => a, <<"ok">> => b},
                  #{none => a, undefined => b}]].

deep_nesting_round_trips(_Config) ->
    %% A list 10,000 levels deep, both ways.
    Deep = lists:foldl(fun(_, Acc) -> [Acc] end, [], lists:seq(1, 9999)),
    {ok, Deep} = call(identity, [Deep]),
    {ok, 10000} = call(depth_of, [Deep]),
    {ok, Deep} = call(nested_list, [10000]),
    %% Past the limit: a clear error, either way.
    {error, {'ValueError', In}} = call(identity, [[[Deep]]]),
    {match, _} = re:run(In, "deeper than the maximum depth"),
    {error, {'ValueError', Out}} = call(nested_list, [10002]),
    {match, _} = re:run(Out, "nested deeper than").

%% ---- atoms ----------------------------------------------------------------

million_strings_make_no_atoms(_Config) ->
    {ok, [_]} = call(many_strings, [1, <<"warm">>]),
    Before = erlang:system_info(atom_count),
    {ok, L} = call(many_strings, [1000000, <<"s">>]),
    1000000 = length(L),
    <<"s-999999">> = lists:last(L),
    Before = erlang:system_info(atom_count).

exception_class_names_make_no_atoms(_Config) ->
    {error, {<<"WarmError">>, _}} = call(raise_named, [<<"WarmError">>]),
    Before = erlang:system_info(atom_count),
    [begin
         Name = <<"PyErr", (integer_to_binary(I))/binary, "_", (integer_to_binary(I * 7))/binary>>,
         {error, {Name, <<"boom">>}} = call(raise_named, [Name])
     end || I <- lists:seq(1, 10000)],
    %% A built-in class name is an atom (it exists already).
    {error, {'ValueError', _}} = call(raise_named, [<<"ValueError">>]),
    Before = erlang:system_info(atom_count).

unknown_atom_from_python_is_an_error(_Config) ->
    Tag = <<"never_made_", (integer_to_binary(erlang:unique_integer([positive])))/binary>>,
    {error, {bad_term, _}} = call(unknown_atoms, [1, <<"warm">>]),
    Before = erlang:system_info(atom_count),
    Missing = <<Tag/binary, "_0">>,
    {error, {bad_term, {unknown_atom, Missing}}} = call(unknown_atoms, [1000, Tag]),
    Before = erlang:system_info(atom_count),
    %% Existing atoms are fine.
    {ok, ok} = py:eval(<<"__import__('erlang').Atom('ok')">>).

%% The scan that names the unknown atom walks every shape of term before it.
unknown_atom_is_named_behind_any_term(_Config) ->
    Known = 'placeholder_for_a_missing_atom',
    Len = byte_size(atom_to_binary(Known)),
    Missing = fresh_name(Len),
    Before = [self(), make_ref(), #{a => [1.5, -3]}, 2 bsl 80, -(2 bsl 300), <<1:3>>,
              fun lists:map/2, "text", {}, [a | b], <<"bytes">>, 'é', 300, 1 bsl 40,
              hd(erlang:ports())],
    [begin
         Bin = binary:replace(term_to_binary(Term), atom_to_binary(Known), Missing),
         {error, {bad_term, {unknown_atom, Missing}}} = py_protocol:decode(Bin)
     end || Term <- [{Before, Known}, [Known | Before], #{Known => 1}, Known,
                     {Before, [{x, Known}]}]],
    Plain = term_to_binary({Before, Known}),
    {ok, {Before, Known}} = py_protocol:decode(Plain),
    %% Cut short, or not a term at all: malformed, and still no atom made.
    Count = erlang:system_info(atom_count),
    {error, {bad_term, malformed}} =
        py_protocol:decode(binary:part(Plain, 0, byte_size(Plain) - 3)),
    {error, {bad_term, malformed}} = py_protocol:decode(<<131, 200, 1, 2>>),
    {error, {bad_term, malformed}} = py_protocol:decode(<<"not a term">>),
    Count = erlang:system_info(atom_count).

%% A name of Len letters that is not an atom.
fresh_name(Len) ->
    Name = << <<($a + rand:uniform(26) - 1)>> || _ <- lists:seq(1, Len) >>,
    try binary_to_existing_atom(Name) of
        _ -> fresh_name(Len)
    catch
        error:badarg -> Name
    end.

new_atom_creates_an_atom(_Config) ->
    Name = <<"fresh_", (integer_to_binary(erlang:unique_integer([positive])))/binary, "_é"/utf8>>,
    {'EXIT', _} = (catch binary_to_existing_atom(Name, utf8)),
    Before = py_registry:new_atoms(),
    {ok, Atom} = call(make_atom, [Name]),
    Atom = binary_to_existing_atom(Name, utf8),
    Before = py_registry:new_atoms() - 1,
    %% An existing atom is not counted again.
    {ok, Atom} = call(make_atom, [Name]),
    {ok, ok} = call(make_atom, [<<"ok">>]),
    Before = py_registry:new_atoms() - 1.

new_atom_is_capped(_Config) ->
    ok = application:stop(erlang_python),
    ok = application:set_env(erlang_python, max_new_atoms, 3),
    try
        start(),
        Tag = integer_to_binary(erlang:unique_integer([positive])),
        Names = [<<"capped_", Tag/binary, "_", (integer_to_binary(I))/binary>> || I <- [1, 2, 3, 4]],
        {ok, [A1, A2, A3, {error, Text}]} = call(make_atoms, [Names]),
        [A1, A2, A3] = [binary_to_existing_atom(N, utf8) || N <- lists:sublist(Names, 3)],
        {match, _} = re:run(Text, "limit of 3 new atoms"),
        {'EXIT', _} = (catch binary_to_existing_atom(lists:last(Names), utf8)),
        3 = py_registry:new_atoms(),
        %% Existing names still work past the cap.
        {ok, [ok, A1]} = call(make_atoms, [[<<"ok">>, hd(Names)]])
    after
        ok = application:unset_env(erlang_python, max_new_atoms),
        restart()
    end.

%% ---- generators -----------------------------------------------------------

any_term() ->
    ?SIZED(Size, any_term(Size)).

any_term(0) ->
    leaf();
any_term(Size) ->
    Smaller = Size div 2,
    frequency([{4, leaf()},
               {2, ?LAZY(short_list(Smaller))},
               {1, ?LAZY(gen_improper_list(Smaller))},
               {2, ?LAZY(gen_tuple(Smaller))},
               {2, ?LAZY(gen_map(Smaller))}]).

%% Containers hold at most 6 terms, so a term stays small enough for 10,000
%% round trips in seconds while nesting still reaches several levels.
short_list(Size) ->
    ?LET(N, range(0, 6), vector(N, any_term(Size))).

leaf() ->
    oneof([integer(), big_integer(), float(), binary(), utf8_binary(), atom_(),
           string(), pid_(), remote_pid(), ref_(), remote_ref(), fun_(), port_(),
           bitstring_()]).

big_integer() ->
    ?LET({Sign, Bits, Low}, {oneof([1, -1]), range(60, 2100), non_neg_integer()},
         Sign * ((1 bsl Bits) + Low)).

utf8_binary() ->
    ?LET(S, list(oneof([range($a, $z), range(16#e0, 16#ff), range(16#3b1, 16#3c9),
                        range(16#4e00, 16#4e20), range(16#1f600, 16#1f610)])),
         unicode:characters_to_binary(S)).

%% Atoms that exist: a fixed pool, plus new random names created here, in
%% the test node, before they are sent (the port only sees existing atoms).
atom_() ->
    oneof([oneof([ok, error, none, true, false, bytes, nan, infinity, '', 'with space',
                  'Quoted', 'héllo', binary_to_atom(<<"日本語"/utf8>>, utf8)]),
           ?LET(Chars, ?SIZED(S, resize(min(S, 40), list(atom_char()))),
                avoid_none(binary_to_atom(unicode:characters_to_binary(Chars), utf8)))]).

atom_char() ->
    oneof([range($a, $z), range($A, $Z), $_, 0, range(16#c0, 16#ff), range(16#3b1, 16#3c9),
           range(16#1f600, 16#1f610)]).

avoid_none(nil) -> ok;
avoid_none(undefined) -> ok;
avoid_none(A) -> A.

pid_() ->
    oneof([self(), ?LAZY(spawn(fun() -> ok end))]).

%% A pid of another node, as NEW_PID_EXT: the node atom is created by
%% binary_to_term here, in the test node.
remote_pid() ->
    ?LET({Node, Id, Serial, Creation}, {node_name(), range(0, 16#7fff), range(0, 8191),
                                        non_neg_integer()},
         binary_to_term(<<131, $X, (atom_ext(Node))/binary, Id:32, Serial:32, Creation:32>>)).

remote_ref() ->
    ?LET({Node, Creation, Words}, {node_name(), non_neg_integer(),
                                   ?LET(N, range(1, 5), vector(N, range(0, 16#ffffffff)))},
         binary_to_term(<<131, $Z, (length(Words)):16, (atom_ext(Node))/binary, Creation:32,
                          << <<W:32>> || W <- Words >>/binary>>)).

node_name() ->
    oneof(['other@somehost', 'py@example.org', 'n1@h']).

atom_ext(Atom) ->
    Name = atom_to_binary(Atom, utf8),
    <<119, (byte_size(Name)):8, Name/binary>>.

ref_() ->
    ?LAZY(make_ref()).

fun_() ->
    oneof([fun lists:reverse/1, fun erlang:self/0,
           ?LET(X, integer(), fun() -> X end),
           ?LET(B, binary(), fun(Y) -> {B, Y} end)]).

port_() ->
    ?LAZY(hd(erlang:ports())).

bitstring_() ->
    ?LET({B, Pad}, {binary(), range(1, 7)}, <<B/binary, 0:Pad>>).

gen_improper_list(Size) ->
    ?LET({Items, Tail}, {non_empty(short_list(Size)), improper_tail(Size)}, Items ++ Tail).

improper_tail(Size) ->
    ?SUCHTHAT(T, any_term(Size), not is_list(T)).

gen_tuple(Size) ->
    ?LET(L, short_list(Size),
         case list_to_tuple(L) of
             {bytes, B} when is_binary(B) -> {bytes, B, extra};
             T -> T
         end).

%% A map built from pairs, dropping a key that Python would hold equal to
%% an earlier one.
gen_map(Size) ->
    ?LET(N, range(0, 6),
         ?LET(Pairs, vector(N, {any_term(Size), any_term(Size)}), dedupe(Pairs, #{}, #{}))).

dedupe([], _Seen, Map) ->
    Map;
dedupe([{K, V} | Rest], Seen, Map) ->
    PK = py_key(K),
    case Seen of
        #{PK := _} -> dedupe(Rest, Seen, Map);
        #{} -> dedupe(Rest, Seen#{PK => true}, Map#{K => V})
    end.

%% The class of Python values equal to the one a term decodes to.
py_key(I) when is_integer(I) -> {num, I};
py_key(F) when is_float(F) ->
    case F == trunc(F) of
        true -> {num, trunc(F)};
        false -> {num, F}
    end;
py_key(true) -> {num, 1};
py_key(false) -> {num, 0};
py_key(A) when A =:= none; A =:= nil; A =:= undefined -> none;
py_key(A) when is_atom(A) -> {text, atom_to_binary(A, utf8)};
py_key(B) when is_binary(B) ->
    case unicode:characters_to_binary(B, utf8, utf8) of
        B -> {text, B};
        _ -> {bytes, B}
    end;
py_key(L) when is_list(L) -> {list, list_key(L)};
py_key(T) when is_tuple(T) -> {tuple, [py_key(E) || E <- tuple_to_list(T)]};
py_key(M) when is_map(M) -> {map, lists:sort([{py_key(K), py_key(V)} || {K, V} <- maps:to_list(M)])};
py_key(Other) -> {opaque, Other}.

list_key([]) -> [];
list_key([H | T]) when is_list(T) -> [py_key(H) | list_key(T)];
list_key([H | T]) -> [py_key(H), {tail, py_key(T)}].

%% ---- helpers --------------------------------------------------------------

call(Function, Args) ->
    py:call(?FIXTURE, Function, Args, #{}, ?LONG).
