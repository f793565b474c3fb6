%% @doc Process-bound namespaces: isolation, '__main__' lookups, freeing on exit and on close, context_lost after a restart.
-module(py_namespace_SUITE).

-include_lib("common_test/include/ct.hrl").

-export([all/0, init_per_suite/1, end_per_suite/1]).
-export([each_process_has_its_own_namespace/1,
         main_calls_resolve_in_the_callers_namespace_first/1,
         namespace_is_freed_when_its_owner_exits/1,
         close_namespace_frees_it_at_once/1,
         a_process_stays_on_the_member_it_first_used/1,
         a_context_can_be_used_by_another_process/1,
         member_restart_is_context_lost_once_then_a_fresh_namespace/1,
         init_code_defines_names_in_main_not_in_namespaces/1]).

all() ->
    [each_process_has_its_own_namespace, main_calls_resolve_in_the_callers_namespace_first,
     namespace_is_freed_when_its_owner_exits, close_namespace_frees_it_at_once,
     a_process_stays_on_the_member_it_first_used, a_context_can_be_used_by_another_process,
     member_restart_is_context_lost_once_then_a_fresh_namespace,
     init_code_defines_names_in_main_not_in_namespaces].

init_per_suite(Config) ->
    ok = py_test_helper:start([]),
    Config.

end_per_suite(_Config) ->
    py_test_helper:stop().

each_process_has_its_own_namespace(_Config) ->
    ok = py:exec(<<"ns_x = 1">>),
    {ok, 1} = py:eval(<<"ns_x">>),
    {error, {'NameError', _}} = in_process(fun() -> py:eval(<<"ns_x">>) end),
    ok = in_process(fun() -> py:exec(<<"ns_x = 2">>) end),
    {ok, 1} = py:eval(<<"ns_x">>),
    %% Nothing leaked into __main__ itself.
    {ok, false} = py:eval(<<"hasattr(__import__('__main__'), 'ns_x')">>),
    %% Same in a pool, by name and by context.
    {ok, _} = py:start_pool(ns_pool, #{size => 2}),
    ok = py:exec(ns_pool, <<"ns_y = 'mine'">>),
    {ok, <<"mine">>} = py:eval(ns_pool, <<"ns_y">>),
    {error, {'NameError', _}} = in_process(fun() -> py:eval(ns_pool, <<"ns_y">>) end),
    {error, {'NameError', _}} = py:eval(<<"ns_y">>), % the default pool is another namespace
    ok = py:stop_pool(ns_pool).

main_calls_resolve_in_the_callers_namespace_first(_Config) ->
    %% A function of __main__ itself, seen by every process without a
    %% function of that name in its own namespace.
    ok = py:exec(<<"import __main__\n__main__.ns_who = lambda: 'main'">>),
    ok = py:exec(<<"def ns_who():\n    return 'mine'\n">>),
    {ok, <<"mine">>} = py:call('__main__', ns_who, []),
    {ok, <<"mine">>} = py:call(<<"__main__">>, <<"ns_who">>, [], #{}, 5000),
    {ok, <<"main">>} = in_process(fun() -> py:call('__main__', ns_who, []) end),
    {ok, <<"main">>} = in_process(fun() -> ok = py:exec(<<"z = 1">>),
                                           py:call('__main__', ns_who, []) end),
    %% Another process's function is not found.
    ok = py:exec(<<"def ns_only_here():\n    return 1\n">>),
    {ok, 1} = py:call('__main__', ns_only_here, []),
    {error, {'AttributeError', _}} = in_process(fun() -> py:call('__main__', ns_only_here, []) end),
    ok = py:exec(<<"del __main__.ns_who">>).

namespace_is_freed_when_its_owner_exits(_Config) ->
    {ok, _} = py:start_pool(ns_free, #{size => 1}),
    {0, 0} = namespaces(ns_free),
    Self = self(),
    {Pid, Mon} = spawn_monitor(fun() ->
                                       ok = py:exec(ns_free, <<"big = list(range(1000))">>),
                                       Self ! {made, self()},
                                       receive stop -> ok end
                               end),
    receive {made, Pid} -> ok end,
    {1, 1} = namespaces(ns_free),
    Pid ! stop,
    receive {'DOWN', Mon, process, Pid, normal} -> ok end,
    %% The keeper saw the owner exit and told the port.
    py_test_helper:wait_until(freed, fun() -> N = namespaces(ns_free), {N =:= {0, 0}, N} end,
                              5000),
    ok = py:stop_pool(ns_free).

close_namespace_frees_it_at_once(_Config) ->
    {ok, _} = py:start_pool(ns_close, #{size => 1}),
    ok = py:exec(ns_close, <<"closing = 1">>),
    {1, 1} = namespaces(ns_close),
    ok = py:close_namespace(ns_close),
    %% The keeper has forgotten it at once; the port runs the drop it was
    %% sent on one of its threads.
    {0, _} = namespaces(ns_close),
    py_test_helper:wait_until(dropped, fun() -> N = namespaces(ns_close), {N =:= {0, 0}, N} end,
                              5000),
    {error, {'NameError', _}} = py:eval(ns_close, <<"closing">>),
    {1, 1} = namespaces(ns_close),
    ok = py:stop_pool(ns_close).

%% The first eval picks the least-loaded member and pins the process there.
a_process_stays_on_the_member_it_first_used(_Config) ->
    {ok, _} = py:start_pool(ns_pin, #{size => 2}),
    ok = py:exec(ns_pin, <<"import os\nns_first = os.getpid()">>),
    {ok, Pid} = py:eval(ns_pin, <<"ns_first">>),
    [{ok, Pid} = py:eval(ns_pin, <<"os.getpid()">>) || _ <- lists:seq(1, 20)],
    %% '__main__' calls go there too (the function exists in that namespace only).
    ok = py:exec(ns_pin, <<"def ns_getpid():\n    return os.getpid()\n">>),
    [{ok, Pid} = py:call(ns_pin, '__main__', ns_getpid, []) || _ <- lists:seq(1, 20)],
    ok = py:stop_pool(ns_pin).

%% A context is a plain term: another process uses the same member (with
%% its own namespace there).
a_context_can_be_used_by_another_process(_Config) ->
    {ok, _} = py:start_pool(ns_ctx, #{size => 2}),
    Ctx = py:context(ns_ctx),
    ok = py:exec(Ctx, <<"import os\nshared = 'no'">>),
    {ok, Pid} = py:eval(Ctx, <<"os.getpid()">>),
    {ok, Pid} = in_process(fun() -> py:call(Ctx, os, getpid, []) end),
    {error, {'NameError', _}} = in_process(fun() -> py:eval(Ctx, <<"shared">>) end),
    ok = py:stop_pool(ns_ctx).

member_restart_is_context_lost_once_then_a_fresh_namespace(_Config) ->
    {ok, _} = py:start_pool(ns_lost, #{size => 1}),
    ok = py:exec(ns_lost, <<"import os\nkept = 1">>),
    {ok, Pid} = py:eval(ns_lost, <<"os.getpid()">>),
    "" = os:cmd("kill -KILL " ++ integer_to_list(Pid)),
    py_test_helper:wait_until(restarted, fun() ->
                                                 case py:call(ns_lost, os, getpid, []) of
                                                     {ok, P} when P =/= Pid -> {true, P};
                                                     Other -> {false, Other}
                                                 end
                                         end, 10000),
    %% The port's exit as the coordinator saw it: the signal, or epipe when
    %% a write to the dying process came first (README, Errors).
    {error, {context_lost, {port_exit, How}}} = py:eval(ns_lost, <<"kept">>),
    true = How =:= {signal, 9} orelse How =:= epipe,
    {error, {'NameError', _}} = py:eval(ns_lost, <<"kept">>),
    ok = py:exec(ns_lost, <<"kept = 2">>),
    {ok, 2} = py:eval(ns_lost, <<"kept">>),
    ok = py:stop_pool(ns_lost).

%% Init code runs in __main__: its names are found by '__main__' calls
%% and as attributes of the module, not as names of a process's namespace.
init_code_defines_names_in_main_not_in_namespaces(_Config) ->
    {ok, _} = py:start_pool(ns_init, #{init => <<"def hello():\n    return 'hi'\n">>}),
    {ok, <<"hi">>} = py:call(ns_init, '__main__', hello, []),
    {ok, <<"hi">>} = py:eval(ns_init, <<"__import__('__main__').hello()">>),
    {ok, <<"hi">>} = py:call(ns_init, '__main__', hello, []),
    ok = py:stop_pool(ns_init).

%% Internal.

in_process(Fun) ->
    Self = self(),
    {Pid, Mon} = spawn_monitor(fun() -> Self ! {self(), Fun()} end),
    receive
        {Pid, Result} -> receive {'DOWN', Mon, _, _, _} -> Result end;
        {'DOWN', Mon, _, _, Why} -> error({in_process, Why})
    end.

%% {the keeper's count, the port's count} of a pool of one member.
namespaces(Pool) ->
    #{pools := #{Pool := #{namespaces := N, members := [#{namespaces := P}]}}} = py:stats(),
    {N, P}.
