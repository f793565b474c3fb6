// The echo port's answers to call frames: {Module, Function, Args, Kwargs} -> {ok, Value}, no Python.
#include "echo_calls.hpp"

#include "wire/byte_buffer.hpp"
#include "echo_value.hpp"

#include <stdexcept>

namespace echo_port {
namespace {

bool decode_text(const char *body, int *index, std::string &out) {
    int type = 0;
    int size = 0;
    if (ei_get_type(body, index, &type, &size) != 0 || type != ERL_BINARY_EXT) {
        return false;
    }
    out.resize(std::size_t(size));
    long len = 0;
    return ei_decode_binary(body, index, out.data(), &len) == 0;
}

void ok_header(ei_x_buff *out) {
    ei_x_encode_tuple_header(out, 2);
    ei_x_encode_atom(out, "ok");
}

// Args as Erlang sends them: a list, or a string when every element is 0..255.
struct args_view {
    const char *body;
    int index;           // at the first element when !is_string
    int count = 0;
    bool is_string = false;
    std::string chars;   // the elements when is_string
    int next_char = 0;

    args_view(const char *b, int at) : body(b), index(at) {
        int type = 0;
        int size = 0;
        if (ei_get_type(body, &index, &type, &size) != 0) {
            throw std::runtime_error("bad Args");
        }
        if (type == ERL_STRING_EXT) {
            is_string = true;
            chars.resize(std::size_t(size) + 1);
            if (ei_decode_string(body, &index, chars.data()) != 0) {
                throw std::runtime_error("bad Args");
            }
            chars.resize(std::size_t(size));
            count = size;
        } else if (ei_decode_list_header(body, &index, &count) != 0) {
            throw std::runtime_error("Args is not a list");
        }
    }

    long long integer() {
        if (is_string) {
            return static_cast<unsigned char>(chars[std::size_t(next_char++)]);
        }
        long long v = 0;
        if (ei_decode_longlong(body, &index, &v) != 0) {
            throw std::runtime_error("argument is not a small integer");
        }
        return v;
    }
};

void answer_add(args_view &args, ei_x_buff *out) {
    if (args.count != 2) {
        throw std::runtime_error("add takes 2 arguments");
    }
    long long a = args.integer();
    long long b = args.integer();
    ok_header(out);
    ei_x_encode_longlong(out, a + b);
}

void answer_len(args_view &args, ei_x_buff *out) {
    if (args.count != 1) {
        throw std::runtime_error("len takes 1 argument");
    }
    int type = 0;
    int size = 0;
    if (args.is_string || ei_get_type(args.body, &args.index, &type, &size) != 0
        || type != ERL_BINARY_EXT) {
        throw std::runtime_error("len wants a binary");
    }
    erlang_python::byte_buffer copy{std::size_t(size)}; // as building a bytes object would
    long len = 0;
    if (ei_decode_binary(args.body, &args.index, copy.data(), &len) != 0) {
        throw std::runtime_error("bad binary");
    }
    ok_header(out);
    ei_x_encode_longlong(out, len);
}

void answer_identity(args_view &args, ei_x_buff *out) {
    ok_header(out);
    if (args.count == 0) {
        ei_x_encode_atom(out, "none");
    } else if (args.is_string) {
        ei_x_encode_longlong(out, static_cast<unsigned char>(args.chars[0]));
    } else {
        echo_term(args.body, &args.index, out);
    }
}

} // namespace

bool parse_call(const char *body, call_request &request) {
    int index = 0;
    int version = 0;
    int arity = 0;
    if (ei_decode_version(body, &index, &version) != 0
        || ei_decode_tuple_header(body, &index, &arity) != 0 || arity != 4
        || !decode_text(body, &index, request.module)
        || !decode_text(body, &index, request.function)) {
        return false;
    }
    request.args_index = index;
    return true;
}

void encode_error(ei_x_buff *out, const std::string &cls, const std::string &message) {
    ei_x_encode_tuple_header(out, 2);
    ei_x_encode_atom(out, "error");
    ei_x_encode_tuple_header(out, 3);
    ei_x_encode_binary(out, cls.data(), int(cls.size()));
    ei_x_encode_binary(out, message.data(), int(message.size()));
    ei_x_encode_binary(out, "", 0);
}

void answer_call(const char *body, const call_request &request, ei_x_buff *out) {
    int start = out->index;
    try {
        args_view args(body, request.args_index);
        if (request.function == "add") {
            answer_add(args, out);
        } else if (request.function == "len") {
            answer_len(args, out);
        } else {
            answer_identity(args, out);
        }
    } catch (const std::exception &e) {
        out->index = start;
        encode_error(out, "TypeError", e.what());
    }
}

} // namespace echo_port
