// The echo port's answers to call frames: {Module, Function, Args, Kwargs} -> {ok, Value}, no Python.
#pragma once

#include <ei.h>
#include <string>

namespace echo_port {

struct call_request {
    std::string module;
    std::string function;
    int args_index = 0; // where Args starts in the body
};

// Decodes the head of {Module, Function, Args, Kwargs} (Module and Function
// as binaries). Returns false when the body has another shape.
bool parse_call(const char *body, call_request &request);

// Encodes the answer into out (after its version byte):
//   add      -> {ok, A + B}                 mimics operator.add
//   len      -> {ok, byte size of Args[0]}  mimics builtins.len (the binary is copied out)
//   anything else -> {ok, Args[0]}          decoded and encoded again (identity)
// A request it cannot answer gets {error, {<<"TypeError">>, Message, <<>>}}.
void answer_call(const char *body, const call_request &request, ei_x_buff *out);

// Encodes {error, {Class, Message, <<>>}}, the shape of the project's error replies.
void encode_error(ei_x_buff *out, const std::string &cls, const std::string &message);

} // namespace echo_port
