#!/usr/bin/env escript
%% Writes the fuzz seed corpus: real term_to_binary output of every kind of
%% term the port decodes, as bare terms and inside request frames.
%% usage: escript tests/fuzz/make-corpus.escript tests/fuzz/corpus
-mode(compile).

main([Dir]) ->
    ok = filelib:ensure_path(Dir),
    Remote = binary_to_term(<<131, 88, 100, 0, 14, "other@somehost", 0:32, 7:32, 3:32>>),
    Terms = [0, 255, -1, 1 bsl 31, -(1 bsl 40), 1 bsl 100, -(1 bsl 2100), 3.25, -0.5e300,
             ok, 'héllo', '日本', none, undefined, true, false, nan, infinity,
             <<>>, <<"text">>, <<255, 0, 1>>, <<"é"/utf8>>, <<1, 2, 3:4>>,
             [], [1, 2, 3], "string", [a | b], [1, 2 | <<"t">>], [[[[]]]], [1.5, [x]],
             {}, {a, 1}, {bytes, <<"raw">>}, list_to_tuple(lists:seq(1, 300)),
             #{}, #{a => 1, <<"b">> => [2]}, #{[1, 2] => x, #{k => v} => {y}},
             #{{1, [2]} => z}, #{1 => a, 1.0 => b},
             self(), Remote, make_ref(), hd(erlang:ports()), fun lists:reverse/1,
             fun(X) -> X + 1 end, lists:seq(1, 1000), lists:duplicate(50, {ok, <<"v">>}),
             {ok, [1, 2.5, <<"hi">>, #{a => [x | y]}], -70000, 1 bsl 100},
             {'$erlang_python', new_atom, <<"fresh">>}],
    Bodies = [term_to_binary(T) || T <- Terms]
        ++ [term_to_binary(T, [{minor_version, 1}]) || T <- [3.25, 'héllo']]
        ++ [term_to_binary(T, [compressed]) || T <- [lists:seq(1, 100)]],
    lists:foldl(fun(B, N) ->
                        write(Dir, io_lib:format("term-~2..0b", [N]), B),
                        N + 1
                end, 0, Bodies),
    %% Frames: <<Length:32, Kind:8, Channel:32, Ref:64, Body>>, one or several.
    Frame = fun(Kind, T) ->
                    Body = term_to_binary(T),
                    <<(13 + byte_size(Body)):32, Kind, 0:32, 7:64, Body/binary>>
            end,
    Frames = [Frame(1, {<<"math">>, <<"sqrt">>, [16], #{}}),
              Frame(2, {<<"x * 2">>, #{x => 21}}),
              Frame(3, <<"import os">>),
              Frame(4, {ok, [1, 2, 3]}),
              Frame(4, {error, {error, badarg, <<"text">>, <<>>}}),
              Frame(5, {}),
              Frame(6, {}),
              <<(Frame(1, {<<"m">>, <<"f">>, [], #{}}))/binary, (Frame(6, {}))/binary>>],
    lists:foldl(fun(B, N) ->
                        write(Dir, io_lib:format("frame-~2..0b", [N]), B),
                        N + 1
                end, 0, Frames),
    ok.

write(Dir, Name, Bytes) ->
    ok = file:write_file(filename:join(Dir, lists:flatten(Name)), Bytes).
