%% @doc Error shapes across the boundary: Python exception names to Erlang terms
%% without minting atoms.
%%
%% A Python exception reaches Erlang as `{error, {Class, Message}}'. Class is
%% an atom for Python's built-in exception types (`'ZeroDivisionError'') and a
%% UTF-8 binary for every other class (`<<"MyError">>'), so that exception
%% names chosen by Python code can never fill the atom table.
-module(py_errors).

-export([class/1, builtin_classes/0]).

%% API.

%% @doc The Erlang form of a Python exception class name.
-spec class(binary()) -> atom() | binary().
class(Name) when is_binary(Name) ->
    try binary_to_existing_atom(Name, utf8) of
        Atom ->
            case lists:member(Atom, builtin_classes()) of
                true -> Atom;
                false -> Name
            end
    catch
        error:badarg -> Name
    end.

%% @doc Python's built-in exception classes: the names that become atoms.
-spec builtin_classes() -> [atom()].
builtin_classes() ->
    ['ArithmeticError', 'AssertionError', 'AttributeError', 'BaseException',
     'BaseExceptionGroup', 'BlockingIOError', 'BrokenPipeError', 'BufferError',
     'BytesWarning', 'ChildProcessError', 'ConnectionAbortedError', 'ConnectionError',
     'ConnectionRefusedError', 'ConnectionResetError', 'DeprecationWarning', 'EOFError',
     'EncodingWarning', 'EnvironmentError', 'Exception', 'ExceptionGroup',
     'FileExistsError', 'FileNotFoundError', 'FloatingPointError', 'FutureWarning',
     'GeneratorExit', 'IOError', 'ImportError', 'ImportWarning', 'IndentationError',
     'IndexError', 'InterruptedError', 'IsADirectoryError', 'KeyError',
     'KeyboardInterrupt', 'LookupError', 'MemoryError', 'ModuleNotFoundError',
     'NameError', 'NotADirectoryError', 'NotImplementedError', 'OSError',
     'OverflowError', 'PendingDeprecationWarning', 'PermissionError',
     'ProcessLookupError', 'RecursionError', 'ReferenceError', 'ResourceWarning',
     'RuntimeError', 'RuntimeWarning', 'StopAsyncIteration', 'StopIteration',
     'SyntaxError', 'SyntaxWarning', 'SystemError', 'SystemExit', 'TabError',
     'TimeoutError', 'TypeError', 'UnboundLocalError', 'UnicodeDecodeError',
     'UnicodeEncodeError', 'UnicodeError', 'UnicodeTranslateError', 'UnicodeWarning',
     'UserWarning', 'ValueError', 'Warning', 'ZeroDivisionError'].
