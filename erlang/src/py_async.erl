%% @doc Calls that do not block their caller: `py:cast', `py:spawn_call'
%% with `py:await' and `py:cancel', and `py:parallel'.
%%
%% They ride on the one request path (`py_call'): a spawned call is a
%% request posted by the calling process, whose answer comes to it as any
%% answer does; the handle is a reference mapped, in the caller's process
%% dictionary, to the request's Ref. So only the process that spawned a call
%% can await or cancel it (its answer is in that process's mailbox), as in
%% erlang_python. A call spawned on another node is served there by a
%% process of its own (`py_dist:spawn_request/5'), whose answer comes to an
%% alias of the caller. A cast is a call made by a short-lived process of
%% its own, which logs a failure with its Python traceback.
%%
%% Where each call goes was decided by `py_route': this module takes the
%% target (or the other node) it was given.
-module(py_async).

-include("py_protocol.hrl").

-export([cast/3, spawn_call/3, spawn_remote/4, await/2, cancel/1, gather/2]).

-define(HANDLE_KEY(Handle), {'$py_spawned', Handle}).

%% API.

%% @doc Runs the call request Term on Target (any target, this node's or
%% another's) in a process of its own; a failure is logged here (with the
%% traceback for a Python exception), never lost.
-spec cast(py:target(), term(), timeout() | default) -> ok.
cast(Target, Term = {Module, Function, _, _}, Timeout) ->
    _ = spawn(fun() ->
                      case py_call:request_to(Target, ?PY_CALL, Term, Timeout) of
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

%% @doc Posts the call request Term to Target (a pool or a context of this
%% node), or remembers why it could not (`{error, _}' in place of a
%% target), and returns a handle for await/2.
-spec spawn_call(py_pool:target() | {error, term()}, term(), timeout() | default) -> reference().
spawn_call({error, _} = Error, _Term, _Timeout) ->
    handle({failed, Error});
spawn_call(Target, Term, Timeout) ->
    handle(case py_call:post_to(Target, ?PY_CALL, Term, Timeout) of
               {posted, Ref, Pending, _} -> {Ref, Pending};
               {error, _} = Error -> {failed, Error}
           end).

%% @doc spawn_call/3 on Target of another node, Node.
-spec spawn_remote(node(), term(), term(), timeout() | default) -> reference().
spawn_remote(Node, Target, Term, Timeout) ->
    handle(py_dist:spawn_request(Node, Target, ?PY_CALL, Term, Timeout)).

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
        Remote = {remote, _, _, _, _} ->
            case py_dist:await_remote(Remote, wait(Timeout)) of
                timeout ->
                    {error, timeout};
                Result ->
                    erase(?HANDLE_KEY(Handle)),
                    Result
            end;
        {Ref, Pending} ->
            case py_call:await(Ref, Pending, wait(Timeout)) of
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
        Remote = {remote, _, _, _, _} -> py_dist:cancel_remote(Remote);
        _ -> ok
    end.

%% @doc The results of spawned calls, waited for with one timeout for the
%% whole set (calls still running then are cancelled): `{ok, Values}' in
%% their order, or the first error.
-spec gather([reference()], timeout() | default) -> {ok, [term()]} | {error, py:error_reason()}.
gather(Handles, Timeout) ->
    Deadline = case wait(Timeout) of
                   infinity -> infinity;
                   T -> erlang:monotonic_time(millisecond) + T
               end,
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

handle(Entry) ->
    Handle = make_ref(),
    put(?HANDLE_KEY(Handle), Entry),
    Handle.

wait(default) -> py_call:default_timeout();
wait(Timeout) -> Timeout.

traceback() ->
    case py_call:last_traceback() of
        undefined -> <<>>;
        Trace -> Trace
    end.
