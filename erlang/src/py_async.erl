%% @doc Calls that do not block their caller: `py:cast', `py:spawn_call'
%% with `py:await' and `py:cancel', and `py:parallel'.
%%
%% They ride on the one request path (`py_call'): a spawned call is a
%% request posted by the calling process, whose answer comes to it as any
%% answer does; the handle is a reference mapped, in the caller's process
%% dictionary, to the request's Ref. So only the process that spawned a call
%% can await or cancel it (its answer is in that process's mailbox), as in
%% erlang_python. A cast is a call made by a short-lived process of its
%% own, which logs a failure with its Python traceback.
-module(py_async).

-include("py_protocol.hrl").

-export([cast/2, spawn_call/2, await/2, cancel/1, parallel/1, parallel/2]).

-define(HANDLE_KEY(Handle), {'$py_spawned', Handle}).

%% API.

%% @doc Runs the call request Term in a process of its own; a failure is
%% logged (with the traceback for a Python exception), never lost.
-spec cast(term(), timeout() | default) -> ok.
cast(Term = {Module, Function, _, _}, Timeout) ->
    _ = spawn(fun() ->
                      case py_call:request(?PY_CALL, Term, Timeout) of
                          {ok, _} ->
                              ok;
                          {error, {Class, Message}} when is_binary(Message) ->
                              logger:error("erlang_python: py:cast of ~ts.~ts raised ~0tp: ~ts~n~ts",
                                           [Module, Function, Class, Message,
                                            traceback()],
                                           #{domain => [erlang_python]});
                          {error, Reason} ->
                              logger:error("erlang_python: py:cast of ~ts.~ts failed: ~0tp",
                                           [Module, Function, Reason],
                                           #{domain => [erlang_python]})
                      end
              end),
    ok.

%% @doc Posts the call request Term and returns a handle for await/2.
-spec spawn_call(term(), timeout() | default) -> reference().
spawn_call(Term, Timeout) ->
    Handle = make_ref(),
    Entry = case py_call:post(?PY_CALL, Term, Timeout) of
                {posted, Ref, Pending, _} -> {Ref, Pending};
                {error, _} = Error -> {failed, Error}
            end,
    put(?HANDLE_KEY(Handle), Entry),
    Handle.

%% @doc The result of a spawned call, waiting up to Timeout for it. On
%% timeout the call goes on: await it again, or cancel it.
-spec await(reference(), timeout() | default) -> {ok, term()} | {error, py:error_reason()}.
await(Handle, Timeout) ->
    case get(?HANDLE_KEY(Handle)) of
        undefined ->
            error(badarg, [Handle, Timeout]);
        {failed, Error} ->
            erase(?HANDLE_KEY(Handle)),
            Error;
        {Ref, Pending} ->
            T = case Timeout of default -> py_call:default_timeout(); _ -> Timeout end,
            case py_call:await(Ref, Pending, T) of
                timeout ->
                    {error, timeout};
                Result ->
                    erase(?HANDLE_KEY(Handle)),
                    Result
            end
    end.

%% @doc Interrupts a spawned call, as a timeout does (TimeoutError in its
%% Python thread), and forgets it; its answer, if one comes, is dropped.
-spec cancel(reference()) -> ok.
cancel(Handle) ->
    case erase(?HANDLE_KEY(Handle)) of
        {Ref, Pending} -> py_call:cancel(Ref, Pending);
        _ -> ok
    end.

%% @doc Runs the call requests at once; `{ok, Values}' in their order, or
%% the first error. Each call has the default timeout.
-spec parallel([term()]) -> {ok, [term()]} | {error, py:error_reason()}.
parallel(Terms) ->
    parallel(Terms, default).

%% @doc parallel/1 with one timeout for the whole set; calls still running
%% then are cancelled.
-spec parallel([term()], timeout() | default) -> {ok, [term()]} | {error, py:error_reason()}.
parallel(Terms, Timeout) ->
    T = case Timeout of default -> py_call:default_timeout(); _ -> Timeout end,
    Deadline = case T of infinity -> infinity; _ -> erlang:monotonic_time(millisecond) + T end,
    Handles = [spawn_call(Term, default) || Term <- Terms],
    Results = [finish(H, Deadline) || H <- Handles],
    case [E || {error, _} = E <- Results] of
        [] -> {ok, [V || {ok, V} <- Results]};
        [First | _] -> First
    end.

%% Internal.

finish(Handle, Deadline) ->
    Left = case Deadline of
               infinity -> infinity;
               _ -> max(0, Deadline - erlang:monotonic_time(millisecond))
           end,
    case await(Handle, Left) of
        {error, timeout} = Timeout ->
            cancel(Handle),
            Timeout;
        Result ->
            Result
    end.

traceback() ->
    case py_call:last_traceback() of
        undefined -> <<>>;
        Trace -> Trace
    end.
