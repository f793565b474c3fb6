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
//           | {M, F, A, Kw, NamespaceId}
//   eval    {Code, Locals}                     reply    ...
//           | {Code, Locals, NamespaceId}
//   exec    Code | {Code, NamespaceId}         reply    {ok, none} | {error, ErrorInfo}
//   drop_namespace NamespaceId                 reply    {ok, none}
//   stats   {}                                 reply    {ok, #{...}}
//   cancel  {}  (interrupt request Ref, on any channel)
//   log_level Level                            reply    {ok, none}
//   call_ref {Module, Function, Args, Kwargs,  reply    {ok, none} | {error, ErrorInfo}
//             Key}  (the result is kept under Key, a reference, in the handle table)
//   release [Key, ...] | all  (no answer: the handles' objects are dropped)
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
// A NamespaceId (a positive integer chosen by Erlang) names a process-bound
// namespace: the globals of one Erlang process's eval/exec, made on first use
// (erlang/_namespaces.py) and forgotten by drop_namespace.
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
    call_ref = 8,
    release = 9,
    drop_namespace = 10,
    // port -> Erlang
    hello = 64,
    reply = 65,
    callback = 66,
    message = 67,
    output = 68,
    log = 69,
};

// The port's column of the kinds table in docs/protocol.md: what each kind is
// to the dispatcher (runtime/dispatcher.cpp routes on it) and its name. A new
// kind gets its number in the enum above, a case in role_of and in kind_name
// below, and a case in the dispatcher when it is a request. No default:
// -Wswitch names a kind left out.
enum class kind_role : std::uint8_t {
    request,  // Erlang -> port: runs Python and owes a reply (channel 0: any executor)
    notice,   // Erlang -> port: runs Python on an executor and owes no reply
    result,   // Erlang -> port: answers a callback on channel N; Ref 0 aborts channel N
    cancel,   // Erlang -> port: interrupts request Ref
    outbound, // port -> Erlang
    unknown,  // no such kind
};

constexpr kind_role role_of(frame_kind kind) noexcept {
    switch (kind) {
        case frame_kind::call:
        case frame_kind::eval:
        case frame_kind::exec:
        case frame_kind::stats:
        case frame_kind::log_level:
        case frame_kind::call_ref:
        case frame_kind::drop_namespace:
            return kind_role::request;
        case frame_kind::release:
            return kind_role::notice;
        case frame_kind::result:
            return kind_role::result;
        case frame_kind::cancel:
            return kind_role::cancel;
        case frame_kind::hello:
        case frame_kind::reply:
        case frame_kind::callback:
        case frame_kind::message:
        case frame_kind::output:
        case frame_kind::log:
            return kind_role::outbound;
    }
    return kind_role::unknown;
}

constexpr const char *kind_name(frame_kind kind) noexcept {
    switch (kind) {
        case frame_kind::call:
            return "call";
        case frame_kind::eval:
            return "eval";
        case frame_kind::exec:
            return "exec";
        case frame_kind::result:
            return "result";
        case frame_kind::cancel:
            return "cancel";
        case frame_kind::stats:
            return "stats";
        case frame_kind::log_level:
            return "log_level";
        case frame_kind::call_ref:
            return "call_ref";
        case frame_kind::release:
            return "release";
        case frame_kind::drop_namespace:
            return "drop_namespace";
        case frame_kind::hello:
            return "hello";
        case frame_kind::reply:
            return "reply";
        case frame_kind::callback:
            return "callback";
        case frame_kind::message:
            return "message";
        case frame_kind::output:
            return "output";
        case frame_kind::log:
            return "log";
    }
    return "unknown";
}

using channel_id = std::uint32_t;
using ref_id = std::uint64_t;

constexpr channel_id any_channel = 0;

// First element of a built-in callback body: {'$erlang_python', Request, Arg}.
constexpr const char *builtin_callback_tag = "$erlang_python";

} // namespace erlang_python
