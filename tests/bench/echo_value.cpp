// The echo port's term copier: decodes one ETF term with ei and encodes it again (the floor's work per value).
#include "echo_value.hpp"

#include "wire/byte_buffer.hpp"

#include <stdexcept>
#include <string>

namespace echo_port {
namespace {

void check(int rc, const char *what) {
    if (rc != 0) {
        throw std::runtime_error(std::string("echo: cannot handle ") + what);
    }
}

// Terms the floor does not look into (bignums, pids, refs, funs...) are copied as bytes.
void copy_raw(const char *buf, int *index, ei_x_buff *out) {
    int start = *index;
    check(ei_skip_term(buf, index), "term");
    check(ei_x_append_buf(out, buf + start, *index - start), "term");
}

} // namespace

void echo_term(const char *buf, int *index, ei_x_buff *out) {
    int type = 0;
    int size = 0;
    check(ei_get_type(buf, index, &type, &size), "type");
    switch (type) {
        case ERL_SMALL_INTEGER_EXT:
        case ERL_INTEGER_EXT: {
            long long v = 0;
            check(ei_decode_longlong(buf, index, &v), "integer");
            check(ei_x_encode_longlong(out, v), "integer");
            return;
        }
        case NEW_FLOAT_EXT:
        case ERL_FLOAT_EXT: {
            double d = 0;
            check(ei_decode_double(buf, index, &d), "float");
            check(ei_x_encode_double(out, d), "float");
            return;
        }
        case ERL_ATOM_EXT:
        case ERL_SMALL_ATOM_EXT:
        case ERL_ATOM_UTF8_EXT:
        case ERL_SMALL_ATOM_UTF8_EXT: {
            char name[MAXATOMLEN_UTF8];
            check(ei_decode_atom_as(buf, index, name, sizeof name, ERLANG_UTF8, nullptr, nullptr),
                  "atom");
            check(ei_x_encode_atom_len_as(out, name, int(std::char_traits<char>::length(name)),
                                          ERLANG_UTF8, ERLANG_UTF8),
                  "atom");
            return;
        }
        case ERL_BINARY_EXT: {
            erlang_python::byte_buffer bytes{std::size_t(size)}; // uninitialised, like a bytes object
            long len = 0;
            check(ei_decode_binary(buf, index, bytes.data(), &len), "binary");
            check(ei_x_encode_binary(out, bytes.data(), int(len)), "binary");
            return;
        }
        case ERL_STRING_EXT: {
            std::string text(std::size_t(size) + 1, '\0');
            check(ei_decode_string(buf, index, text.data()), "string");
            check(ei_x_encode_string_len(out, text.data(), size), "string");
            return;
        }
        case ERL_NIL_EXT:
        case ERL_LIST_EXT: {
            int arity = 0;
            check(ei_decode_list_header(buf, index, &arity), "list");
            check(ei_x_encode_list_header(out, arity), "list");
            if (arity == 0) {
                return;
            }
            for (int i = 0; i < arity; ++i) {
                echo_term(buf, index, out);
            }
            echo_term(buf, index, out); // the tail: [] for a proper list
            return;
        }
        case ERL_SMALL_TUPLE_EXT:
        case ERL_LARGE_TUPLE_EXT: {
            int arity = 0;
            check(ei_decode_tuple_header(buf, index, &arity), "tuple");
            check(ei_x_encode_tuple_header(out, arity), "tuple");
            for (int i = 0; i < arity; ++i) {
                echo_term(buf, index, out);
            }
            return;
        }
        case ERL_MAP_EXT: {
            int arity = 0;
            check(ei_decode_map_header(buf, index, &arity), "map");
            check(ei_x_encode_map_header(out, arity), "map");
            for (int i = 0; i < 2 * arity; ++i) {
                echo_term(buf, index, out);
            }
            return;
        }
        default:
            copy_raw(buf, index, out);
            return;
    }
}

} // namespace echo_port
