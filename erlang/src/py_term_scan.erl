%% @doc Says why a body from the port failed `binary_to_term(_, [safe])'.
%%
%% Only run after that failure, so it may be slow: it walks the external
%% term format and returns the first atom that does not exist in this node,
%% or `malformed' when the bytes are not a term it can walk. It never
%% creates an atom.
-module(py_term_scan).

-export([why_bad/1]).

-define(VERSION, 131).

%% @doc `{unknown_atom, Name}' (Name as UTF-8) or `malformed'.
-spec why_bad(binary()) -> {unknown_atom, binary()} | malformed.
why_bad(<<?VERSION, Rest/binary>>) ->
    try terms(1, Rest) of
        _ -> malformed
    catch
        throw:{unknown_atom, _} = Found -> Found;
        error:_ -> malformed
    end;
why_bad(_) ->
    malformed.

%% Walks N terms; returns the bytes after them, throws the first unknown atom.
terms(0, Rest) ->
    Rest;
terms(N, Bin) ->
    terms(N - 1, term(Bin)).

term(<<97, _, R/binary>>) -> R;                                   % SMALL_INTEGER
term(<<98, _:32, R/binary>>) -> R;                                % INTEGER
term(<<70, _:64, R/binary>>) -> R;                                % NEW_FLOAT
term(<<99, _:31/binary, R/binary>>) -> R;                         % FLOAT (old)
term(<<110, N, _, _:N/binary, R/binary>>) -> R;                   % SMALL_BIG
term(<<111, N:32, _, _:N/binary, R/binary>>) -> R;                % LARGE_BIG
term(<<106, R/binary>>) -> R;                                     % NIL
term(<<107, N:16, _:N/binary, R/binary>>) -> R;                   % STRING
term(<<109, N:32, _:N/binary, R/binary>>) -> R;                   % BINARY
term(<<77, N:32, _, _:N/binary, R/binary>>) -> R;                 % BIT_BINARY
term(<<104, N, R/binary>>) -> terms(N, R);                        % SMALL_TUPLE
term(<<105, N:32, R/binary>>) -> terms(N, R);                     % LARGE_TUPLE
term(<<108, N:32, R/binary>>) -> terms(N + 1, R);                 % LIST (+ tail)
term(<<116, N:32, R/binary>>) -> terms(2 * N, R);                 % MAP
term(<<119, N, Name:N/binary, R/binary>>) -> atom(Name, R);       % SMALL_ATOM_UTF8
term(<<118, N:16, Name:N/binary, R/binary>>) -> atom(Name, R);    % ATOM_UTF8
term(<<115, N, Name:N/binary, R/binary>>) -> latin1_atom(Name, R); % SMALL_ATOM
term(<<100, N:16, Name:N/binary, R/binary>>) -> latin1_atom(Name, R); % ATOM
term(<<88, R/binary>>) -> skip(12, term(R));                      % NEW_PID: node, 12 bytes
term(<<103, R/binary>>) -> skip(9, term(R));                      % PID
term(<<89, R/binary>>) -> skip(8, term(R));                       % NEW_PORT
term(<<120, R/binary>>) -> skip(12, term(R));                     % V4_PORT
term(<<102, R/binary>>) -> skip(5, term(R));                      % PORT
term(<<90, N:16, R/binary>>) -> skip(4 + 4 * N, term(R));         % NEWER_REFERENCE
term(<<114, N:16, R/binary>>) -> skip(1 + 4 * N, term(R));        % NEW_REFERENCE
term(<<113, R/binary>>) -> terms(3, R).                           % EXPORT: M, F, Arity

atom(Name, Rest) ->
    try binary_to_existing_atom(Name, utf8) of
        _ -> Rest
    catch
        error:badarg -> throw({unknown_atom, Name})
    end.

latin1_atom(Name, Rest) ->
    atom(unicode:characters_to_binary(Name, latin1), Rest).

skip(N, Bin) ->
    <<_:N/binary, Rest/binary>> = Bin,
    Rest.
