%% @doc A handler process: runs the Erlang functions one Python thread calls.
%%
%% == Message flow ==
%% <ol>
%% <li>A Python thread calls `erlang.call(Name, *Args)': the port sends a
%%     `callback' frame on the thread's channel; the thread waits on its
%%     mailbox with the GIL released.</li>
%% <li>The coordinator forwards the body to this process (spawned on the
%%     channel's first frame).</li>
%% <li>This process decodes `{Name, Args}', looks Name up in `py_registry'
%%     and runs the function with the channel in its process dictionary.
%%     (The body `{'$erlang_python', new_atom, Name}' is `erlang.new_atom':
%%     `py_registry:new_atom/1' creates the atom, within its cap.)</li>
%% <li>A `py:call' made by the function goes to the same channel: the
%%     waiting Python thread runs it. If that Python code calls
%%     `erlang.call' again, the callback comes back to this process, which
%%     serves it while it waits in `py:call' (re-entrancy at any depth).</li>
%% <li>The result, or `{error, {Class, Reason, Text, Stack}}', goes back as
%%     a `result' frame on the channel with the callback's Ref; the Python
%%     thread returns it or raises `erlang.ErlangError'.</li>
%% </ol>
%% The process outlives its Python thread: a new thread that reuses the
%% channel reuses the handler too.
%%
%% State, kept in the process dictionary under `?PY_HANDLER_KEY' so that
%% `py' can serve nested callbacks: the member's `#py_port{}' (so a nested
%% `py:call' goes back to this member and thread), the channel id, and the
%% counter of callbacks forwarded to it and not yet answered (the
%% coordinator adds, this process subtracts; it dies with the process).
-module(py_handler).

-include("py_protocol.hrl").

-export([start_link/3, serve/1]).
-export([init/3]).

%% What the coordinator sends a handler, as `{py_serve, Work}': a callback
%% frame's Ref and body, or an `erlang.send' frame's body.
-type work() :: {callback, non_neg_integer(), binary()} | {message, binary()}.
-export_type([work/0]).

%% API.

-spec start_link(#py_port{}, pos_integer(), counters:counters_ref()) -> pid().
start_link(Port, Channel, InFlight) ->
    proc_lib:spawn_link(?MODULE, init, [Port, Channel, InFlight]).

%% @doc Serves one piece of work the coordinator sent as `{py_serve, Work}',
%% in the calling handler process: its own loop, or `py_call' while the
%% handler waits for a request of its own. A new kind of work is a new
%% clause here and a new route in the coordinator, nothing else.
-spec serve(work()) -> ok.
serve({callback, Ref, Body}) ->
    {#py_port{port = Port}, Channel, InFlight} = get(?PY_HANDLER_KEY),
    Result = run(Body),
    Frame = py_protocol:frame(?PY_RESULT, Channel, Ref, Result),
    try erlang:port_command(Port, Frame) catch error:badarg -> ok end,
    counters:sub(InFlight, 1, 1),
    ok;
serve({message, Body}) ->
    case py_protocol:decode(Body) of
        {ok, {Pid, Term}} when is_pid(Pid) -> Pid ! Term;
        _ -> logger:warning("erlang_python: bad erlang.send frame dropped")
    end,
    ok.

%% Internal.

-spec init(#py_port{}, pos_integer(), counters:counters_ref()) -> no_return().
init(Port, Channel, InFlight) ->
    put(?PY_CHANNEL_KEY, Channel),
    put(?PY_HANDLER_KEY, {Port, Channel, InFlight}),
    loop().

loop() ->
    receive
        {py_serve, Work} -> serve(Work);
        _Other -> ok
    end,
    loop().

run(Body) ->
    case py_protocol:decode(Body) of
        {ok, {Name, Args}} when is_binary(Name), is_list(Args) ->
            case py_registry:lookup(Name) of
                {ok, Entry} ->
                    apply_entry(Entry, Args);
                error ->
                    Text = <<"no Erlang function registered as '", Name/binary, "'">>,
                    {error, {error, {unknown_function, Name}, Text, <<>>}}
            end;
        {ok, {'$erlang_python', Request, Arg}} ->
            builtin(Request, Arg);
        {ok, Other} ->
            {error, {error, {bad_callback, Other}, <<"malformed callback">>, <<>>}};
        {error, Reason} ->
            {error, {error, Reason, format(error, Reason), <<>>}}
    end.

%% The built-in requests of the `erlang' package, {'$erlang_python',
%% Request, Arg}: one clause each.
builtin(new_atom, Name) when is_binary(Name) ->
    %% erlang.new_atom(Name): the one way Python creates an atom.
    case py_registry:new_atom(Name) of
        {ok, Atom} -> {ok, Atom};
        {error, Reason} -> {error, {error, Reason, new_atom_error(Name, Reason), <<>>}}
    end;
builtin(state, Args) when is_list(Args) ->
    %% erlang.state_get/set/delete/keys/clear/incr/decr (py_state).
    apply_entry(fun py_state:python/1, Args);
builtin(stream_credit, Ref) when is_reference(Ref) ->
    %% A stream's window is full: wait for acknowledgements (py_stream).
    case py_stream:credit(Ref) of
        {ok, N} -> {ok, N};
        {error, cancelled} -> {error, {error, cancelled, <<"the stream was cancelled">>, <<>>}}
    end;
builtin(stream_end, [Owner, Ref, Result]) when is_pid(Owner), is_reference(Ref) ->
    %% Sent from here, the process that forwarded the stream's items: the
    %% end arrives after the last of them.
    case py_stream:finish(Ref) of
        notify ->
            Owner ! {py_stream, Ref, case Result of
                                         [] -> done;
                                         [Class, Message] ->
                                             %% As erlang_python: the text
                                             %% Python prints last.
                                             {error, <<Class/binary, ": ", Message/binary>>}
                                     end};
        quiet ->
            ok
    end,
    {ok, none};
builtin(whereis, Name) when is_binary(Name) ->
    %% erlang.whereis(Name): a name that is no atom names no process.
    try binary_to_existing_atom(Name, utf8) of
        Atom -> {ok, case whereis(Atom) of undefined -> none; Pid -> Pid end}
    catch
        error:badarg -> {ok, none}
    end;
builtin(Request, Arg) ->
    {error, {error, {bad_callback, {Request, Arg}}, <<"malformed built-in request">>, <<>>}}.

apply_entry(Entry, Args) ->
    try
        Value = case Entry of
                    {M, F} -> M:F(Args);
                    Fun -> Fun(Args)
                end,
        {ok, Value}
    catch
        Class:Reason:Stack ->
            {error, {Class, Reason, format(Class, Reason), format_stack(Stack)}}
    end.

new_atom_error(Name, {too_many_new_atoms, Max}) ->
    unicode:characters_to_binary(
      io_lib:format("erlang.new_atom(~0tp): the limit of ~b new atoms (max_new_atoms) "
                    "is reached", [Name, Max]));
new_atom_error(Name, bad_atom_name) ->
    unicode:characters_to_binary(
      io_lib:format("erlang.new_atom(~0tp): not a valid atom name", [Name])).

format(Class, Reason) ->
    unicode:characters_to_binary(io_lib:format("~p: ~0p", [Class, Reason])).

format_stack(Stack) ->
    unicode:characters_to_binary(
      [io_lib:format("~p:~p/~p ~0p~n", [M, F, arity(A), Loc]) || {M, F, A, Loc} <- Stack]).

arity(A) when is_list(A) -> length(A);
arity(A) -> A.
