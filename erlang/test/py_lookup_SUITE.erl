%% @doc The port's lookup caches never show stale state: py:call sees a
%% function reassigned, a module reloaded or replaced in sys.modules at once,
%% and eval/exec of a source run again (its compiled code is kept) still
%% evaluates against the names and locals of the moment.
-module(py_lookup_SUITE).

-include_lib("common_test/include/ct.hrl").

-export([all/0, init_per_suite/1, end_per_suite/1]).
-export([reassigned_function_is_called/1,
         module_replaced_in_sys_modules_is_used/1,
         module_removed_from_sys_modules_is_imported_again/1,
         reloaded_module_gives_new_code/1,
         module_getattr_and_non_module_entries_work/1,
         dunder_names_go_through_getattr/1,
         repeated_eval_sees_current_names_and_locals/1,
         repeated_exec_runs_each_time/1,
         syntax_error_is_reported_every_time/1,
         many_sources_evict_and_recompile/1,
         call_requests_of_every_shape/1,
         many_names_are_told_apart/1,
         import_cancelled_midway_is_imported_again_by_its_waiters/1]).

all() ->
    [reassigned_function_is_called,
     module_replaced_in_sys_modules_is_used,
     module_removed_from_sys_modules_is_imported_again,
     reloaded_module_gives_new_code,
     module_getattr_and_non_module_entries_work,
     dunder_names_go_through_getattr,
     repeated_eval_sees_current_names_and_locals,
     repeated_exec_runs_each_time,
     syntax_error_is_reported_every_time,
     many_sources_evict_and_recompile,
     call_requests_of_every_shape,
     many_names_are_told_apart,
     import_cancelled_midway_is_imported_again_by_its_waiters].

init_per_suite(Config) ->
    ok = application:load(erlang_python),
    ok = application:set_env(erlang_python, python_path, [?config(priv_dir, Config)]),
    {ok, _} = application:ensure_all_started(erlang_python),
    Config.

end_per_suite(_Config) ->
    _ = application:stop(erlang_python),
    ok.

%% A module made in memory and put in sys.modules as `Name'.
new_module(Name, Body) ->
    ok = py:exec(iolist_to_binary(
                   ["import sys, types\n",
                    "_m = types.ModuleType('", Name, "')\n",
                    "exec(", quote(Body), ", _m.__dict__)\n",
                    "sys.modules['", Name, "'] = _m\n"])).

quote(Text) -> io_lib:format("~p", [binary_to_list(iolist_to_binary(Text))]).

reassigned_function_is_called(_Config) ->
    ok = new_module("lookup_a", "def f(x):\n    return x + 1\n"),
    {ok, 2} = py:call(lookup_a, f, [1]),
    {ok, 2} = py:call(lookup_a, f, [1]),
    ok = py:exec(<<"sys.modules['lookup_a'].f = lambda x: x * 10">>),
    {ok, 10} = py:call(lookup_a, f, [1]),
    ok = py:exec(<<"del sys.modules['lookup_a'].f">>),
    {error, {'AttributeError', _}} = py:call(lookup_a, f, [1]).

module_replaced_in_sys_modules_is_used(_Config) ->
    ok = new_module("lookup_b", "def f():\n    return 'first'\n"),
    {ok, <<"first">>} = py:call(lookup_b, f, []),
    ok = new_module("lookup_b", "def f():\n    return 'second'\n"),
    {ok, <<"second">>} = py:call(lookup_b, f, []).

module_removed_from_sys_modules_is_imported_again(Config) ->
    %% Each process has its own namespace: this case imports what it uses.
    ok = py:exec(<<"import sys">>),
    write_module(Config, "lookup_file", "def f():\n    return 1\n"),
    {ok, 1} = py:call(lookup_file, f, []),
    ok = py:exec(<<"del sys.modules['lookup_file']">>),
    write_module(Config, "lookup_file", "def f():\n    return 22\n"),
    {ok, 22} = py:call(lookup_file, f, []),
    ok = py:exec(<<"sys.modules.pop('lookup_c', None)">>),
    {error, {'ModuleNotFoundError', _}} = py:call(lookup_c, f, []),
    ok = new_module("lookup_c", "def f():\n    return 'c'\n"),
    {ok, <<"c">>} = py:call(lookup_c, f, []),
    ok = py:exec(<<"del sys.modules['lookup_c']">>),
    {error, {'ModuleNotFoundError', _}} = py:call(lookup_c, f, []).

reloaded_module_gives_new_code(Config) ->
    write_module(Config, "lookup_reload", "def f():\n    return 'old'\n"),
    {ok, <<"old">>} = py:call(lookup_reload, f, []),
    write_module(Config, "lookup_reload", "def f():\n    return 'new code'\n"),
    ok = py:exec(<<"import importlib, lookup_reload; importlib.reload(lookup_reload)">>),
    {ok, <<"new code">>} = py:call(lookup_reload, f, []).

module_getattr_and_non_module_entries_work(_Config) ->
    %% A module-level __getattr__ (PEP 562) answers names its dict lacks.
    ok = new_module("lookup_d", "def __getattr__(name):\n    return lambda: 'via ' + name\n"),
    {ok, <<"via g">>} = py:call(lookup_d, g, []),
    %% Anything can stand in sys.modules; its attributes are looked up on it.
    ok = py:exec(<<"sys.modules['lookup_e'] = types.SimpleNamespace(f=lambda: 'ns')">>),
    {ok, <<"ns">>} = py:call(lookup_e, f, []),
    ok = py:exec(<<"sys.modules['lookup_e'].f = lambda: 'ns2'">>),
    {ok, <<"ns2">>} = py:call(lookup_e, f, []),
    %% A module whose class was changed to one with a property.
    ok = new_module("lookup_f",
                    "import sys, types\n"
                    "class M(types.ModuleType):\n"
                    "    @property\n"
                    "    def f(self):\n"
                    "        return lambda: 'property'\n"),
    ok = py:exec(<<"sys.modules['lookup_f'].__dict__['f'] = lambda: 'dict'\n"
                   "sys.modules['lookup_f'].__class__ = sys.modules['lookup_f'].M">>),
    {ok, <<"property">>} = py:call(lookup_f, f, []).

dunder_names_go_through_getattr(_Config) ->
    %% Dunder names are left to getattr (the module type's own attributes
    %% win over the module's dict there); a function named like one is found.
    ok = new_module("lookup_g", "def __call_me__():\n    return 'dunder'\n"),
    {ok, <<"dunder">>} = py:call(lookup_g, '__call_me__', []),
    {ok, <<"lookup_g">>} = py:eval(<<"sys.modules['lookup_g'].__name__">>).

repeated_eval_sees_current_names_and_locals(_Config) ->
    ok = py:exec(<<"lookup_x = 1">>),
    {ok, 2} = py:eval(<<"lookup_x + 1">>),
    ok = py:exec(<<"lookup_x = 41">>),
    {ok, 42} = py:eval(<<"lookup_x + 1">>),
    {ok, 3} = py:eval(<<"lookup_y * 3">>, #{lookup_y => 1}),
    {ok, 6} = py:eval(<<"lookup_y * 3">>, #{lookup_y => 2}),
    {error, {'NameError', _}} = py:eval(<<"lookup_y * 3">>).

repeated_exec_runs_each_time(_Config) ->
    ok = py:exec(<<"lookup_n = 0">>),
    [ok = py:exec(<<"lookup_n += 1">>) || _ <- lists:seq(1, 5)],
    {ok, 5} = py:eval(<<"lookup_n">>),
    %% A function defined twice by the same source is a new function each time.
    ok = py:exec(<<"def lookup_fn():\n    return lookup_n\nlookup_fns = [lookup_fn]">>),
    ok = py:exec(<<"lookup_first = lookup_fns[0]">>),
    ok = py:exec(<<"def lookup_fn():\n    return lookup_n\nlookup_fns = [lookup_fn]">>),
    {ok, false} = py:eval(<<"lookup_first is lookup_fns[0]">>).

syntax_error_is_reported_every_time(_Config) ->
    {error, {'SyntaxError', _}} = py:eval(<<"1 +">>),
    {error, {'SyntaxError', _}} = py:eval(<<"1 +">>),
    {error, {'SyntaxError', _}} = py:exec(<<"def (:">>),
    {error, {'SyntaxError', _}} = py:exec(<<"def (:">>),
    %% eval and exec of the same text are compiled apart.
    ok = py:exec(<<"lookup_z = 5">>),
    {error, {'SyntaxError', _}} = py:eval(<<"lookup_z = 5">>).

many_sources_evict_and_recompile(_Config) ->
    ok = py:exec(<<"lookup_x = 1">>),
    Sources = [{N, iolist_to_binary(["lookup_x * 0 + ", integer_to_list(N)])}
               || N <- lists:seq(1, 400)],
    [{ok, N} = py:eval(S) || _ <- [1, 2], {N, S} <- Sources],
    [{ok, N} = py:eval(S) || {N, S} <- lists:reverse(Sources)],
    %% A source too long to be kept still runs, every time.
    Long = iolist_to_binary(["len('", lists:duplicate(20000, $a), "')"]),
    {ok, 20000} = py:eval(Long),
    {ok, 20000} = py:eval(Long).

write_module(Config, Name, Text) ->
    File = filename:join(?config(priv_dir, Config), Name ++ ".py"),
    ok = file:write_file(File, Text),
    ok = py:exec(<<"import importlib; importlib.invalidate_caches()">>).

%% The port decodes the usual request ({Binary, Binary, List, #{}}) straight
%% into the call; every other shape is decoded as a whole and gives the same
%% results as before.
call_requests_of_every_shape(_Config) ->
    ok = py:exec(<<"def argz(*a, **k):\n    return [list(a), sorted(k.items())]\n">>),
    {ok, [[], []]} = py:call('__main__', argz, []),
    {ok, [[1, 2], []]} = py:call('__main__', argz, [1, 2], #{}),
    Seq = lists:seq(1, 12),
    {ok, [Seq, []]} = py:call('__main__', argz, Seq),
    Big = lists:seq(300, 312),
    {ok, [Big, []]} = py:call('__main__', argz, Big),
    Mixed = [<<"x">>, 1.5, {1, 2}, [3], #{a => 1}, none, true, foo],
    {ok, [Mixed, []]} = py:call('__main__', argz, Mixed),
    {ok, [[], [{a, 1}, {b, [1]}]]} = py:call('__main__', argz, [], #{a => 1, b => [1]}),
    {ok, ["abc", []]} = py:call('__main__', argz, "abc"),
    {ok, 3} = py:call(<<"operator">>, <<"add">>, [1, 2]),
    %% An improper argument list is refused in the caller (py_compat_SUITE).
    {'EXIT', {badarg, _}} = (catch py:call('__main__', argz, [1 | 2])),
    {error, {'TypeError', <<"module name must be a string">>}} = py:call(<<255, 1>>, f, []),
    {error, {'TypeError', <<"attribute name must be string, not 'bytes'">>}} =
        py:call(operator, <<255>>, []),
    Name = unicode:characters_to_binary("lookup_\x{e9}"),
    ok = py:exec(<<"import sys, types\nsys.modules['", Name/binary, "'] = types.ModuleType('x')\n",
                   "sys.modules['", Name/binary, "'].f = lambda: 1\n">>),
    {ok, 1} = py:call(Name, f, []).

%% More names than the port keeps: each call still reaches its own function.
many_names_are_told_apart(_Config) ->
    ok = py:exec(<<"for _i in range(400):\n    globals()['name_%d' % _i] = (lambda v: lambda: v)(_i)\n">>),
    Names = [{I, list_to_atom("name_" ++ integer_to_list(I))} || I <- lists:seq(0, 399)],
    [{ok, I} = py:call('__main__', F, []) || _ <- [1, 2], {I, F} <- Names],
    LongName = list_to_atom(lists:duplicate(200, $z)),
    ok = py:exec(iolist_to_binary([atom_to_list(LongName), " = lambda: 'long'\n"])),
    [{ok, <<"long">>} = py:call('__main__', LongName, []) || _ <- [1, 2]],
    ok.

%% A request is cancelled while its thread runs a module's body for the
%% module's first import, and 20 other requests for the same module wait
%% for that import (Python's module lock). The cancelled import fails and
%% takes the module out of sys.modules; each waiter must then import it
%% again, not call into the half-built module object it waited for
%% (before the fix in port/module_lookup.cpp: AttributeError for `f').
import_cancelled_midway_is_imported_again_by_its_waiters(Config) ->
    Test = self(),
    ok = py:register_function(lookup_import_started, fun([]) -> Test ! import_started, ok end),
    %% The body stops (erlang.call, then an interruptible sleep) only on its
    %% first run, which the cancel ends; the imports after it run through.
    write_module(Config, "lookup_slow_import",
                 "import builtins, time, erlang\n"
                 "if not getattr(builtins, '_lookup_slow_import_ran', False):\n"
                 "    builtins._lookup_slow_import_ran = True\n"
                 "    erlang.call('lookup_import_started')\n"
                 "    time.sleep(60)\n"
                 "def f():\n"
                 "    return 'imported'\n"),
    First = py:spawn_call(lookup_slow_import, f, [], #{}, 60000),
    receive import_started -> ok after 10000 -> ct:fail(import_not_started) end,
    Waiters = [spawn_monitor(fun() -> exit({called, py:call(lookup_slow_import, f, [], #{}, 30000)}) end)
               || _ <- lists:seq(1, 20)],
    %% Every waiter blocked on the module's import lock. importlib keeps the
    %% threads blocked in a module lock in _bootstrap._blocking_on (3.11):
    %% the one place that says a thread is waiting for this import.
    py_test_helper:wait_until(
      waiters_blocked_on_the_import,
      fun() ->
              {ok, N} = py:eval(<<"sum(1 for l in list(__import__('importlib')._bootstrap."
                                  "_blocking_on.values()) if l.name == 'lookup_slow_import')">>),
              {N =:= 20, N}
      end, 10000),
    ok = py:cancel(First),
    Results = [receive {'DOWN', M, process, P, {called, R}} -> R
               after 20000 -> ct:fail({waiter_stuck, P})
               end || {P, M} <- Waiters],
    ct:pal("the waiters of the cancelled import got: ~p", [lists:usort(Results)]),
    [{ok, <<"imported">>}] = lists:usort(Results),
    ok = py:unregister_function(lookup_import_started).
