// Catch2 tests of decode_call (a call request decoded into its parts gives what decode_term
// gives) and of the short scans that stand in for the term check on small terms.
#include "codec_test_support.hpp"
#include "terms/term_check.hpp"
#include "terms/term_codec.hpp"

#include <catch2/catch.hpp>
#include <ei.h>
#include <functional>
#include <string>
#include <vector>

using namespace erlang_python;
using namespace etf_test;

namespace {

// {Module, Function, Args, Kwargs}, each part written by its own function.
using part = std::function<void(ei_x_buff *)>;

std::string
request(const part &module, const part &function, const part &args, const part &kwargs) {
    etf_writer t;
    REQUIRE(ei_x_encode_tuple_header(t.get(), 4) == 0);
    module(t.get());
    function(t.get());
    args(t.get());
    kwargs(t.get());
    return t.str();
}

part binary(const std::string &s) {
    return [s](ei_x_buff *x) { REQUIRE(ei_x_encode_binary(x, s.data(), int(s.size())) == 0); };
}
part atom(const std::string &s) {
    return [s](ei_x_buff *x) { REQUIRE(ei_x_encode_atom(x, s.c_str()) == 0); };
}
part no_kwargs() {
    return [](ei_x_buff *x) { REQUIRE(ei_x_encode_map_header(x, 0) == 0); };
}
part some_kwargs() {
    return [](ei_x_buff *x) {
        REQUIRE(ei_x_encode_map_header(x, 1) == 0);
        REQUIRE(ei_x_encode_atom(x, "key") == 0);
        REQUIRE(ei_x_encode_long(x, 7) == 0);
    };
}
// A proper list of items, then the tail (nil unless given).
part list(const std::vector<part> &items, const part &tail = nullptr) {
    return [items, tail](ei_x_buff *x) {
        if (!items.empty()) {
            REQUIRE(ei_x_encode_list_header(x, long(items.size())) == 0);
            for (const part &item : items) {
                item(x);
            }
        }
        if (tail) {
            tail(x);
        } else {
            REQUIRE(ei_x_encode_empty_list(x) == 0);
        }
    };
}
part integer(long v) {
    return [v](ei_x_buff *x) { REQUIRE(ei_x_encode_long(x, v) == 0); };
}
part real(double v) {
    return [v](ei_x_buff *x) { REQUIRE(ei_x_encode_double(x, v) == 0); };
}
part string(const std::string &s) { // STRING_EXT, as Erlang sends [1, 2]
    return [s](ei_x_buff *x) { REQUIRE(ei_x_encode_string_len(x, s.data(), int(s.size())) == 0); };
}
part pair(const part &a, const part &b) {
    return [a, b](ei_x_buff *x) {
        REQUIRE(ei_x_encode_tuple_header(x, 2) == 0);
        a(x);
        b(x);
    };
}

std::vector<part> twelve_integers() {
    std::vector<part> v;
    for (long i = 0; i < 12; ++i) {
        v.push_back(integer(i * 1000));
    }
    return v;
}

// Requests of the usual shape, and of every other shape decode_call hands to decode_term.
std::vector<std::string> requests() {
    part add = binary("add");
    part op = binary("operator");
    return {
        request(op, add, string(std::string("\1\2", 2)), no_kwargs()),
        request(op, add, list({}), no_kwargs()),
        request(op,
                add,
                list({integer(1),
                      integer(-70000),
                      real(2.5),
                      binary("hi"),
                      atom("foo"),
                      atom("none"),
                      list({}),
                      string("ab")}),
                no_kwargs()),
        request(op, add, list(twelve_integers()), no_kwargs()),
        request(op, add, list({pair(integer(1), list({integer(2)}))}), no_kwargs()),
        request(op, add, list({integer(1)}), some_kwargs()),
        request(binary("os.path"), binary("join"), list({binary("a"), binary("b")}), no_kwargs()),
        request(binary("caf\xc3\xa9"), add, list({}), no_kwargs()),
        request(atom("operator"), atom("add"), list({integer(1)}), no_kwargs()),
        request(binary("\xff"), add, list({}), no_kwargs()),
        request(op, binary("\xff\xfe"), list({}), no_kwargs()),
        request(op, add, list({integer(1)}, integer(2)), no_kwargs()),
        request(op, add, binary("args"), no_kwargs()),
    };
}

py::object args_list(const call_request &req) {
    py::list l;
    for (std::size_t i = 0; i < req.argc(); ++i) {
        l.append(py::reinterpret_borrow<py::object>(req.args()[i]));
    }
    return std::move(l);
}

} // namespace

TEST_CASE("decode_call gives the parts decode_term gives, for requests of every shape", "[term]") {
    for (const std::string &etf : requests()) {
        guarded_copy copy(etf);
        py::tuple whole = decode(etf);
        call_request req;
        decode_call(copy.data(), etf.size(), default_max_depth, req);
        if (req.other) {
            CHECK(req.argc() == 0);
            CHECK(!req.kwargs);
            CHECK(req.other.equal(whole));
            continue;
        }
        CHECK(PyUnicode_CheckExact(req.module.ptr()));
        CHECK(PyUnicode_CheckExact(req.function.ptr()));
        CHECK(req.module.equal(whole[0]));
        CHECK(req.function.equal(whole[1]));
        CHECK(args_list(req).equal(whole[2]));
        if (py::len(whole[3]) == 0) {
            CHECK(!req.kwargs);
        } else {
            CHECK(req.kwargs.equal(whole[3]));
        }
    }
}

TEST_CASE("decode_call keeps the names it has seen", "[term]") {
    std::string etf = request(binary("operator"), binary("add"), list({}), no_kwargs());
    call_request a;
    call_request b;
    decode_call(etf.data(), etf.size(), default_max_depth, a);
    decode_call(etf.data(), etf.size(), default_max_depth, b);
    CHECK(a.module.ptr() == b.module.ptr());
    CHECK(a.function.ptr() == b.function.ptr());
}

TEST_CASE("decode_call refuses every damaged request that the term check refuses", "[term]") {
    for (const std::string &valid : requests()) {
        std::vector<std::string> damaged;
        for (std::size_t n = 0; n < valid.size(); ++n) {
            damaged.push_back(valid.substr(0, n));
        }
        for (std::size_t i = 0; i < valid.size(); ++i) {
            for (int b : {0, 1, 2, 0x6a, 0x6b, 0x6c, 0x6d, 0x74, 0x7f, 0xff}) {
                std::string d = valid;
                d[i] = char(b);
                damaged.push_back(d);
            }
        }
        damaged.push_back(valid + std::string(1, '\0'));
        for (const std::string &etf : damaged) {
            guarded_copy copy(etf);
            call_request req;
            bool good = check_term(etf.data(), etf.size(), default_max_depth + envelope_depth).ok;
            bool refused = false;
            try {
                decode_call(copy.data(), etf.size(), default_max_depth + envelope_depth, req);
            } catch (const term_error &) {
                refused = true; // malformed, or an atom name that is not UTF-8
            } catch (py::error_already_set &) {
                CHECK(good); // a well-formed term Python refuses
            }
            if (!good) {
                CHECK(refused);
            }
        }
    }
}

TEST_CASE("decode_term refuses every damaged small term that the term check refuses", "[term]") {
    std::vector<std::string> valid;
    for (const part &p : {pair(atom("ok"), integer(3)),
                          pair(binary("1+1"), atom("none")),
                          integer(-70000),
                          real(2.5),
                          binary("x = 1"),
                          string("ab"),
                          list({})}) {
        etf_writer t;
        p(t.get());
        valid.push_back(t.str());
    }
    valid.push_back(bytes({131, 104, 0}));
    for (const std::string &v : valid) {
        std::vector<std::string> damaged{v + std::string(1, '\0')};
        for (std::size_t n = 0; n < v.size(); ++n) {
            damaged.push_back(v.substr(0, n));
        }
        for (std::size_t i = 0; i < v.size(); ++i) {
            for (int b : {0, 1, 2, 3, 0x61, 0x68, 0x6a, 0x6b, 0x6d, 0x77, 0x7f, 0xff}) {
                std::string d = v;
                d[i] = char(b);
                damaged.push_back(d);
            }
        }
        for (const std::string &etf : damaged) {
            for (std::size_t depth : {std::size_t(0), std::size_t(1), default_max_depth}) {
                guarded_copy copy(etf);
                bool good = check_term(etf.data(), etf.size(), depth).ok;
                bool refused = false;
                try {
                    decode_term(copy.data(), etf.size(), depth);
                } catch (const term_error &) {
                    refused = true;
                } catch (py::error_already_set &) {
                    CHECK(good);
                }
                if (!good) {
                    CHECK(refused);
                }
            }
        }
    }
}
