#!/usr/bin/env escript
%% `make docs`: the edoc pages of the OTP application into <out dir>; exits 1 on an edoc
%% error (a malformed @doc makes edoc skip the module and then fail), so .ci/run catches it.
%% usage: escript tools/docs.escript <source root> <out dir>

main([Root, Out]) ->
    ok = filelib:ensure_dir(filename:join(Out, "x")),
    Opts = [{dir, Out},
            {includes, [filename:join([Root, "erlang", "include"])]},
            {preprocess, true},
            {title, "erlang_python"}],
    case catch edoc:application(erlang_python, filename:join(Root, "erlang"), Opts) of
        ok ->
            io:format("edoc: ~ts~n", [filename:join(Out, "index.html")]);
        Failed ->
            io:format(standard_error, "edoc failed: ~p~n", [Failed]),
            halt(1)
    end;
main(_) ->
    io:format(standard_error, "usage: escript tools/docs.escript <source root> <out dir>~n", []),
    halt(2).
