// Catch2 tests of large binaries -> Python: the UTF-8 check against Python's own decoder, and the decode path.
#include "codec_test_support.hpp"
#include "terms/binary_decode.hpp"
#include "terms/term_codec.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

using namespace erlang_python;
using namespace etf_test;

namespace {

// Python's strict decoder: -1 when s is UTF-8, else where the first bad sequence starts.
long python_error_start(const std::string &s) {
    PyObject *text = PyUnicode_DecodeUTF8(s.data(), Py_ssize_t(s.size()), "strict");
    if (text != nullptr) {
        Py_DECREF(text);
        return -1;
    }
    REQUIRE(PyErr_ExceptionMatches(PyExc_UnicodeDecodeError));
    PyObject *type = nullptr;
    PyObject *value = nullptr;
    PyObject *trace = nullptr;
    PyErr_Fetch(&type, &value, &trace);
    PyErr_NormalizeException(&type, &value, &trace);
    Py_ssize_t start = -1;
    REQUIRE(PyUnicodeDecodeError_GetStart(value, &start) == 0);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(trace);
    return long(start);
}

// The check agrees with Python on s: the same verdict, the same place. With
// guard, it reads s from a copy that faults on a read past its end.
void agrees(const std::string &s, bool guard = false) {
    std::size_t valid = 0;
    if (guard) {
        guarded_copy copy(s);
        valid = utf8_valid_prefix(copy.data(), s.size());
    } else {
        valid = utf8_valid_prefix(s.data(), s.size());
    }
    long start = python_error_start(s);
    if (start < 0) {
        CHECK(valid == s.size());
    } else {
        CHECK(long(valid) == start);
    }
}

std::string binary_ext(const std::string &data) {
    return bytes({109}) + u32(std::uint32_t(data.size())) + data;
}

std::string random_bytes(std::size_t n, unsigned seed) {
    std::mt19937 gen(seed);
    std::string s(n, '\0');
    for (auto &c : s) {
        c = char(gen() & 0xff);
    }
    return s;
}

bool is_bytes(const py::object &o) {
    return PyBytes_CheckExact(o.ptr());
}
bool is_str(const py::object &o) {
    return PyUnicode_CheckExact(o.ptr());
}
std::string as_bytes(const py::object &o) {
    return std::string(PyBytes_AS_STRING(o.ptr()), std::size_t(PyBytes_GET_SIZE(o.ptr())));
}
std::string as_utf8(const py::object &o) {
    Py_ssize_t n = 0;
    const char *p = PyUnicode_AsUTF8AndSize(o.ptr(), &n);
    REQUIRE(p != nullptr);
    return std::string(p, std::size_t(n));
}

} // namespace

TEST_CASE("UTF-8 check agrees with Python on every one- and two-byte input", "[binary]") {
    agrees("", true);
    for (int a = 0; a < 256; ++a) {
        agrees(bytes({a}), true);
        for (int b = 0; b < 256; ++b) {
            agrees(bytes({a, b}), true);
        }
    }
}

TEST_CASE("UTF-8 check agrees with Python on three- and four-byte sequences", "[binary]") {
    const std::vector<int> tails{0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xff};
    for (int lead = 0xc0; lead < 256; ++lead) {
        for (int second = 0; second < 256; ++second) {
            for (int third : tails) {
                agrees(bytes({lead, second, third}));
                agrees(bytes({'a', lead, second, third, 'z'}));
                for (int fourth : tails) {
                    if (lead >= 0xf0 && lead <= 0xf5) {
                        agrees(bytes({lead, second, third, fourth}));
                    }
                }
            }
        }
    }
    // Boundaries: U+07FF, U+0800, U+D7FF, U+E000, U+FFFF, U+10000, U+10FFFF and past it.
    for (const std::string &s : {std::string("\xdf\xbf"),
                                 std::string("\xe0\xa0\x80"),
                                 std::string("\xed\x9f\xbf"),
                                 std::string("\xee\x80\x80"),
                                 std::string("\xef\xbf\xbf"),
                                 std::string("\xf0\x90\x80\x80"),
                                 std::string("\xf4\x8f\xbf\xbf"),
                                 std::string("\xf4\x90\x80\x80")}) {
        agrees(s, true);
        agrees(std::string(37, 'x') + s + "tail", true);
    }
}

TEST_CASE("UTF-8 check agrees with Python on random and mostly-text inputs", "[binary]") {
    std::mt19937 gen(7);
    const std::string pieces[] = {"a",
                                  "0123456789abcdef",
                                  "\xc3\xa9",
                                  "\xe2\x82\xac",
                                  "\xf0\x9f\x98\x80",
                                  "\xff",
                                  "\xc3",
                                  "\xed\xa0\x80",
                                  "\x80"};
    for (int round = 0; round < 2000; ++round) {
        agrees(random_bytes(gen() % 40, unsigned(round)));
        std::string s;
        std::size_t n = gen() % 30;
        for (std::size_t i = 0; i < n; ++i) {
            // Mostly valid pieces, now and then a bad one.
            s += pieces[gen() % 100 < 95 ? gen() % 5 : 5 + gen() % 4];
        }
        agrees(s);
    }
}

TEST_CASE("a large non-UTF-8 binary decodes to equal bytes", "[binary]") {
    for (std::size_t n : {large_binary_size, large_binary_size + 1, std::size_t(5u << 20)}) {
        std::string data = random_bytes(n, unsigned(n));
        data[0] = '\xff';
        py::object o = decode(bytes({131}) + binary_ext(data));
        REQUIRE(is_bytes(o));
        CHECK(as_bytes(o) == data);
    }
}

TEST_CASE("a large binary decodes to str when it is UTF-8 up to its last byte", "[binary]") {
    std::string text;
    while (text.size() < large_binary_size) {
        text += "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80 ";
    }
    // The guarded copy faults on any read past the last character.
    for (const std::string &last :
         {std::string("z"), std::string("\xc3\xa9"), std::string("\xf0\x9f\x98\x80")}) {
        py::object o = decode(bytes({131}) + binary_ext(text + last));
        REQUIRE(is_str(o));
        CHECK(as_utf8(o) == text + last);
    }
}

TEST_CASE("a large binary with one bad sequence anywhere decodes to bytes", "[binary]") {
    std::string text(large_binary_size + 100, 'a');
    for (std::size_t at : {std::size_t(0), std::size_t(1), text.size() / 2, text.size() - 1}) {
        for (const std::string &bad : {std::string("\xff"),
                                       std::string("\x80"),
                                       std::string("\xed\xa0\x80"),
                                       std::string("\xc0\xaf")}) {
            std::string data = text;
            data.replace(std::min(at, data.size() - bad.size()), bad.size(), bad);
            py::object o = decode(bytes({131}) + binary_ext(data));
            REQUIRE(is_bytes(o));
            CHECK(as_bytes(o) == data);
        }
    }
    // A multi-byte sequence cut by the end of the binary.
    for (const std::string &cut :
         {std::string("\xc3"), std::string("\xe2\x82"), std::string("\xf0\x9f\x98")}) {
        std::string data = text + cut;
        py::object o = decode(bytes({131}) + binary_ext(data));
        REQUIRE(is_bytes(o));
        CHECK(as_bytes(o) == data);
    }
}

TEST_CASE("a large binary inside a request and as {bytes, Binary}", "[binary]") {
    std::string text(large_binary_size * 2, 'q');
    std::string data = random_bytes(large_binary_size * 2, 3);
    data[5] = '\xff';
    // {Module, Function, [Text, Data, {bytes, Text}], #{}} as Erlang writes it.
    std::string request = bytes({131, 104, 4}) + binary_ext("builtins") + binary_ext("len")
                          + bytes({108}) + u32(3) + binary_ext(text) + binary_ext(data)
                          + bytes({104, 2, 119, 5}) + "bytes" + binary_ext(text) + bytes({106})
                          + bytes({116}) + u32(0);
    py::object o = decode(request);
    py::list args = py::reinterpret_borrow<py::tuple>(o)[2].cast<py::list>();
    REQUIRE(is_str(args[0]));
    CHECK(as_utf8(args[0]) == text);
    py::object raw = args[1];
    py::object forced = args[2];
    REQUIRE(is_bytes(raw));
    CHECK(as_bytes(raw) == data);
    REQUIRE(is_bytes(forced));
    CHECK(as_bytes(forced) == text);
}

TEST_CASE("a large binary cut short is rejected before it is read", "[binary]") {
    std::string data(large_binary_size + 10, 'a');
    std::string whole = bytes({131, 108}) + u32(1) + binary_ext(data) + bytes({106});
    for (std::size_t cut :
         {std::size_t(7), std::size_t(8), whole.size() / 2, whole.size() - 2, whole.size() - 1}) {
        CHECK_THROWS_AS(decode(whole.substr(0, cut)), term_error);
    }
}

TEST_CASE("large bytes and str encode as ei writes them, alone and inside a term", "[binary]") {
    std::string data = random_bytes(std::size_t(5u << 20) + 3, 11);
    std::string text(std::size_t(6u << 20), 't');
    py::bytes b(data);
    py::str s(text);

    etf_writer alone;
    REQUIRE(ei_x_encode_binary(alone.get(), data.data(), int(data.size())) == 0);
    CHECK(encode(b) == alone.str());

    // (Bytes, Str, 7, Bytes): growing for the second binary keeps the first.
    etf_writer nested;
    REQUIRE(ei_x_encode_tuple_header(nested.get(), 4) == 0);
    REQUIRE(ei_x_encode_binary(nested.get(), data.data(), int(data.size())) == 0);
    REQUIRE(ei_x_encode_binary(nested.get(), text.data(), int(text.size())) == 0);
    REQUIRE(ei_x_encode_long(nested.get(), 7) == 0);
    REQUIRE(ei_x_encode_binary(nested.get(), data.data(), int(data.size())) == 0);
    py::tuple t = py::make_tuple(b, s, 7, b);
    std::string etf = encode(t);
    CHECK(etf == nested.str());

    py::object back = decode(etf);
    CHECK(back.equal(t));
}
