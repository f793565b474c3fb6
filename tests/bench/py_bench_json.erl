%% @doc A minimal JSON writer for the benchmark's results: nested maps, numbers, strings, lists.
-module(py_bench_json).

-export([encode/1]).

%% @doc Maps with atom or binary keys (written in key order), `{ordered,
%% [{Key, Value}]}' for objects in a given order, numbers (floats to three
%% decimals), atoms and binaries as strings, lists as arrays; indented.
-spec encode(term()) -> iodata().
encode(Term) ->
    [value(Term, 0), $\n].

value(M, Depth) when is_map(M) ->
    value({ordered, lists:sort(maps:to_list(M))}, Depth);
value({ordered, []}, _) ->
    "{}";
value({ordered, Pairs}, Depth) ->
    Pad = pad(Depth + 1),
    Items = [[Pad, string(K), ": ", value(V, Depth + 1)] || {K, V} <- Pairs],
    ["{\n", lists:join(",\n", Items), "\n", pad(Depth), "}"];
value(L, Depth) when is_list(L) ->
    ["[", lists:join(", ", [value(V, Depth + 1) || V <- L]), "]"];
value(I, _) when is_integer(I) -> integer_to_binary(I);
value(F, _) when is_float(F) -> float_to_binary(F, [{decimals, 3}, compact]);
value(true, _) -> "true";
value(false, _) -> "false";
value(null, _) -> "null";
value(S, _) -> string(S).

string(A) when is_atom(A) -> string(atom_to_binary(A));
string(B) when is_binary(B) -> [$", escape(B), $"].

escape(B) ->
    [case C of
         $" -> "\\\"";
         $\\ -> "\\\\";
         $\n -> "\\n";
         _ when C < 32 -> io_lib:format("\\u~4.16.0b", [C]);
         _ -> <<C/utf8>>
     end || <<C/utf8>> <= B].

pad(Depth) -> lists:duplicate(2 * Depth, $\s).
