// The wire grammar between the Erlang coordinator and this port program.
//
// Every {packet,4} frame is a fixed 13-byte header followed by one ETF term:
//
//   <<Kind:8, Channel:32/big, Ref:64/big, Term/binary>>
//
// Channel 0 means "any executor thread"; channel N > 0 is the private
// mailbox of one Python thread. Ref correlates a reply with its request.
// The coordinator routes on (Kind, Channel, Ref) and never decodes Term.
//
//   Erlang -> port                              port -> Erlang
//   ---------------------------------------    ------------------------------------------
//   call    {Module, Function, Args, Kwargs}   reply    {ok, Value} | {error, ErrorInfo}
//   eval    {Code, Locals}                     reply    ...
//   exec    Code                               reply    {ok, none} | {error, ErrorInfo}
//   stats   {}                                 reply    {ok, #{...}}
//   cancel  {}  (interrupt request Ref, on any channel)
//   log_level Level                            reply    {ok, none}
//                                              hello    {Version, PythonVersion, OsPid}
//                                              callback {Name, Args}          (channel N)
//   result  {ok, Value} | {error, {Class,       <- answers a callback on channel N, same Ref;
//            Reason, Text, Stack}}                 Ref 0 aborts every wait on channel N
//                                                  (its handler process died)
//                                              message  {Pid, Term}           (channel N)
//                                              output   {stdout | stderr, Bytes}
//                                              log      {Level, Message, Meta}  (channel 0, Ref 0)
//
// ErrorInfo is {ClassName, Message, Traceback}, three UTF-8 binaries.
// log_level tells the port the OTP logger's primary level (an atom: emergency
// .. debug, all, none); `log` carries one Python logging record at or above
// it, Level an OTP level atom and Meta a map with atom keys (log_bridge.hpp).
//
// A callback body may also be a built-in request of the package, answered
// by the handler like any callback (a `result` frame):
//   callback {'$erlang_python', new_atom, Name}   erlang.new_atom(Name): the
//            handler creates the atom, at most max_new_atoms per application
//            start, and answers {ok, Atom} or an error.
// Replies and callbacks are decoded with binary_to_term(_, [safe]): atoms
// Python sends must already exist, so only new_atom adds atoms.
// A call/eval/exec sent on channel N > 0 is a nested request: it runs on the
// Python thread that owns channel N while that thread waits in erlang.call.
// The same table lives in erlang/include/py_protocol.hrl and docs/protocol.md
// (tests/python/test_protocol_tables.py checks that the three agree).
#pragma once

#include <cstddef>
#include <cstdint>

namespace erlang_python {

constexpr int protocol_version = 1;
constexpr std::size_t header_size = 13; // kind + channel + ref
constexpr std::size_t length_prefix_size = 4;

enum class frame_kind : std::uint8_t {
    // Erlang -> port
    call = 1,
    eval = 2,
    exec = 3,
    result = 4,
    cancel = 5,
    stats = 6,
    log_level = 7,
    // port -> Erlang
    hello = 64,
    reply = 65,
    callback = 66,
    message = 67,
    output = 68,
    log = 69,
};

using channel_id = std::uint32_t;
using ref_id = std::uint64_t;

constexpr channel_id any_channel = 0;

// First element of a built-in callback body: {'$erlang_python', Request, Arg}.
constexpr const char *builtin_callback_tag = "$erlang_python";

} // namespace erlang_python
