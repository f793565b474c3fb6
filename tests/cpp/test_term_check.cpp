// Catch2 tests of the bounds-checked ETF structure check that runs before ei decodes a term.
#include "etf_test_support.hpp"
#include "terms/term_check.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <ei.h>
#include <initializer_list>
#include <set>
#include <stdexcept>
#include <string>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

using namespace erlang_python;
using namespace etf_test;

namespace {

// Every check in these tests reads from a guarded copy.
term_check_result check(const std::string &s, std::size_t max_depth = default_max_depth) {
    guarded_copy copy(s);
    return check_term(copy.data(), s.size(), max_depth);
}

// {ok, [1, 2.5, <<"hi">>, #{a => [x | y]}], -70000, 1 bsl 100}
const std::string erl_nested = bytes(
    {131, 104, 4,   100, 0, 2,   111, 107, 108, 0, 0,   0,   4,   97, 1,   70,  64, 4,   0,
     0,   0,   0,   0,   0, 109, 0,   0,   0,   2, 104, 105, 116, 0,  0,   0,   1,  100, 0,
     1,   97,  108, 0,   0, 0,   1,   100, 0,   1, 120, 100, 0,   1,  121, 106, 98, 255, 254,
     238, 144, 110, 13,  0, 0,   0,   0,   0,   0, 0,   0,   0,   0,  0,   0,   0,  16});

// One LARGE_TUPLE_EXT holding an example of every tag check_term supports.
std::string every_tag() {
    std::vector<std::string> parts = {
        bytes({97, 7}),                                                    // SMALL_INTEGER_EXT
        bytes({98}) + u32(0xfffffff0u),                                    // INTEGER_EXT
        bytes({70, 64, 4, 0, 0, 0, 0, 0, 0}),                              // NEW_FLOAT_EXT
        bytes({100, 0, 2}) + "ok",                                         // ATOM_EXT
        bytes({115, 2}) + "ok",                                            // SMALL_ATOM_EXT
        bytes({118, 0, 2}) + "ok",                                         // ATOM_UTF8_EXT
        bytes({119, 2}) + "ok",                                            // SMALL_ATOM_UTF8_EXT
        bytes({104, 2, 97, 1, 106}),                                       // SMALL_TUPLE_EXT
        bytes({106}),                                                      // NIL_EXT
        bytes({107, 0, 3, 1, 2, 3}),                                       // STRING_EXT
        bytes({108, 0, 0, 0, 2, 97, 1, 97, 2, 106}),                       // LIST_EXT
        bytes({108, 0, 0, 0, 1, 97, 1, 97, 2}),                            // improper LIST_EXT
        bytes({109, 0, 0, 0, 2}) + "hi",                                   // BINARY_EXT
        bytes({77, 0, 0, 0, 2, 4, 1, 0x20}),                               // BIT_BINARY_EXT
        bytes({110, 2, 1, 0x34, 0x12}),                                    // SMALL_BIG_EXT
        bytes({111, 0, 0, 0, 2, 0, 0x34, 0x12}),                           // LARGE_BIG_EXT
        bytes({116, 0, 0, 0, 1, 97, 1, 97, 2}),                            // MAP_EXT
        bytes({103}) + node + bytes({0, 0, 0, 1, 0, 0, 0, 0, 0}),          // PID_EXT
        erl_pid.substr(1),                                                 // NEW_PID_EXT
        bytes({102}) + node + bytes({0, 0, 0, 1, 0}),                      // PORT_EXT
        erl_port.substr(1),                                                // NEW_PORT_EXT
        bytes({120}) + node + bytes({0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0}), // V4_PORT_EXT
        bytes({101}) + node + bytes({0, 0, 0, 1, 0}),                      // REFERENCE_EXT
        bytes({114, 0, 1}) + node + bytes({0, 0, 0, 0, 1}),                // NEW_REFERENCE_EXT
        erl_ref.substr(1),                                                 // NEWER_REFERENCE_EXT
        erl_fun.substr(1),                                                 // NEW_FUN_EXT
        erl_export.substr(1),                                              // EXPORT_EXT
    };
    std::string float_ext = bytes({99}) + "2.50000000000000000000e+00";
    float_ext += std::string(32 - float_ext.size(), '\0'); // FLOAT_EXT: 31 bytes of text
    parts.push_back(float_ext);

    std::string s = bytes({131, 105}) + u32(std::uint32_t(parts.size())); // LARGE_TUPLE_EXT
    for (const std::string &p : parts) {
        s += p;
    }
    return s;
}

// depth nested one-element lists around []: [[[...[]...]]].
std::string deep_list(std::size_t depth) {
    std::string s(1, char(131));
    s.reserve(1 + depth * 5 + 1 + depth);
    for (std::size_t i = 0; i < depth; ++i) {
        s += bytes({108, 0, 0, 0, 1});
    }
    s += char(106);
    s += std::string(depth, char(106)); // every list's tail
    return s;
}

// Nested SMALL_TUPLE_EXT of arity 1 around an integer: {{{...{1}...}}}.
std::string deep_tuple(std::size_t depth) {
    std::string s(1, char(131));
    for (std::size_t i = 0; i < depth; ++i) {
        s += bytes({104, 1});
    }
    return s + bytes({97, 1});
}

} // namespace

TEST_CASE("term check accepts every supported tag written by hand", "[term]") {
    struct sample {
        const char *name;
        std::string term;
    };
    std::string float_ext = bytes({131, 99}) + "-1.00000000000000000000e+10";
    float_ext += std::string(33 - float_ext.size(), '\0');
    std::vector<sample> samples = {
        {"SMALL_INTEGER_EXT", bytes({131, 97, 255})},
        {"INTEGER_EXT", bytes({131, 98, 255, 255, 255, 255})},
        {"FLOAT_EXT", float_ext},
        {"NEW_FLOAT_EXT", bytes({131, 70, 64, 9, 33, 251, 84, 68, 45, 24})},
        {"ATOM_EXT", bytes({131, 100, 0, 5}) + "hello"},
        {"ATOM_EXT (empty)", bytes({131, 100, 0, 0})},
        {"SMALL_ATOM_EXT", bytes({131, 115, 5}) + "hello"},
        {"ATOM_UTF8_EXT", bytes({131, 118, 0, 6}) + "h\xc3\xa9llo"},
        {"SMALL_ATOM_UTF8_EXT", bytes({131, 119, 6}) + "h\xc3\xa9llo"},
        {"SMALL_TUPLE_EXT", bytes({131, 104, 2, 97, 1, 97, 2})},
        {"SMALL_TUPLE_EXT (empty)", bytes({131, 104, 0})},
        {"LARGE_TUPLE_EXT", bytes({131, 105, 0, 0, 0, 2, 97, 1, 106})},
        {"NIL_EXT", bytes({131, 106})},
        {"STRING_EXT", bytes({131, 107, 0, 3, 1, 2, 3})},
        {"STRING_EXT (empty)", bytes({131, 107, 0, 0})},
        {"LIST_EXT", bytes({131, 108, 0, 0, 0, 3, 97, 1, 97, 2, 97, 3, 106})},
        {"LIST_EXT (improper)", bytes({131, 108, 0, 0, 0, 2, 97, 1, 97, 2, 97, 3})},
        {"BINARY_EXT", bytes({131, 109, 0, 0, 0, 3}) + "abc"},
        {"BINARY_EXT (empty)", bytes({131, 109, 0, 0, 0, 0})},
        {"BIT_BINARY_EXT", bytes({131, 77, 0, 0, 0, 3, 4, 1, 2, 48})},
        {"BIT_BINARY_EXT (8 bits)", bytes({131, 77, 0, 0, 0, 1, 8, 255})},
        {"SMALL_BIG_EXT", bytes({131, 110, 13, 0}) + std::string(12, '\0') + bytes({16})},
        {"LARGE_BIG_EXT", bytes({131, 111, 0, 0, 1, 0, 1}) + std::string(255, '\0') + bytes({1})},
        {"MAP_EXT", bytes({131, 116, 0, 0, 0, 2, 97, 1, 97, 2, 97, 3, 106})},
        {"MAP_EXT (empty)", bytes({131, 116, 0, 0, 0, 0})},
        {"PID_EXT", bytes({131, 103}) + node + bytes({0, 0, 0, 1, 0, 0, 0, 0, 0})},
        {"NEW_PID_EXT", erl_pid},
        {"PORT_EXT", bytes({131, 102}) + node + bytes({0, 0, 0, 1, 0})},
        {"NEW_PORT_EXT", erl_port},
        {"V4_PORT_EXT", bytes({131, 120}) + node + bytes({0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0})},
        {"REFERENCE_EXT", bytes({131, 101}) + node + bytes({0, 0, 0, 1, 0})},
        {"NEW_REFERENCE_EXT", bytes({131, 114, 0, 3}) + node + bytes({0}) + std::string(12, '\1')},
        {"NEWER_REFERENCE_EXT", erl_ref},
        {"NEWER_REFERENCE_EXT (5 words)",
         bytes({131, 90, 0, 5}) + node + std::string(4, '\0') + std::string(20, '\1')},
        {"NEW_FUN_EXT", erl_fun},
        {"EXPORT_EXT", erl_export},
        {"node atom as SMALL_ATOM_UTF8_EXT",
         bytes({131, 88, 119, 13}) + "nonode@nohost" + std::string(12, '\0')},
        {"nested term", erl_nested},
        {"every tag at once", every_tag()},
    };
    for (const sample &s : samples) {
        INFO(s.name);
        term_check_result r = check(s.term);
        CHECK(r.ok);
        CHECK(r.error == "");
        CHECK(r.offset == s.term.size());
    }
}

TEST_CASE("term check accepts terms written by ei", "[term]") {
    std::vector<std::string> terms;
    {
        etf_writer t;
        REQUIRE(ei_x_encode_long(t.get(), 42) == 0);
        terms.push_back(t.str());
    }
    {
        etf_writer t;
        REQUIRE(ei_x_encode_long(t.get(), -1000000) == 0);
        terms.push_back(t.str());
    }
    {
        etf_writer t;
        REQUIRE(ei_x_encode_longlong(t.get(), -(1ll << 62)) == 0);
        terms.push_back(t.str());
    }
    {
        etf_writer t;
        REQUIRE(ei_x_encode_ulonglong(t.get(), ~0ull) == 0);
        terms.push_back(t.str());
    }
    {
        etf_writer t;
        REQUIRE(ei_x_encode_double(t.get(), 3.25) == 0);
        terms.push_back(t.str());
    }
    {
        etf_writer t;
        REQUIRE(ei_x_encode_boolean(t.get(), 1) == 0);
        terms.push_back(t.str());
    }
    {
        etf_writer t;
        REQUIRE(ei_x_encode_atom_as(t.get(), "h\xc3\xa9llo", ERLANG_UTF8, ERLANG_UTF8) == 0);
        terms.push_back(t.str());
    }
    {
        etf_writer t;
        REQUIRE(ei_x_encode_atom_as(t.get(), "latin", ERLANG_LATIN1, ERLANG_LATIN1) == 0);
        terms.push_back(t.str());
    }
    {
        etf_writer t;
        REQUIRE(ei_x_encode_string(t.get(), "abc") == 0);
        terms.push_back(t.str());
    }
    {
        etf_writer t;
        std::string long_string(70000, 'x'); // too long for STRING_EXT: a list
        REQUIRE(ei_x_encode_string_len(t.get(), long_string.data(), int(long_string.size())) == 0);
        terms.push_back(t.str());
    }
    {
        etf_writer t;
        REQUIRE(ei_x_encode_binary(t.get(), "\0\1\2", 3) == 0);
        terms.push_back(t.str());
    }
    {
        etf_writer t;
        const char bits[] = {char(0xff), char(0xf0)};
        REQUIRE(ei_x_encode_bitstring(t.get(), bits, 0, 12) == 0);
        terms.push_back(t.str());
    }
    {
        etf_writer t;
        erlang_big *big = ei_alloc_big(9);
        REQUIRE(big != nullptr);
        std::memset(big->digits, 0, 10);
        reinterpret_cast<unsigned char *>(big->digits)[8] = 1; // 2**64
        big->is_neg = 1;
        REQUIRE(ei_x_encode_big(t.get(), big) == 0);
        ei_free_big(big);
        terms.push_back(t.str());
    }
    {
        etf_writer t;
        erlang_pid pid{};
        std::strcpy(pid.node, "a@b");
        pid.num = 1;
        pid.creation = 3;
        REQUIRE(ei_x_encode_pid(t.get(), &pid) == 0);
        terms.push_back(t.str());
    }
    {
        etf_writer t;
        erlang_port port{};
        std::strcpy(port.node, "a@b");
        port.id = 1ull << 40; // beyond 32 bits: V4_PORT_EXT
        REQUIRE(ei_x_encode_port(t.get(), &port) == 0);
        terms.push_back(t.str());
    }
    {
        etf_writer t;
        erlang_ref ref{};
        std::strcpy(ref.node, "a@b");
        ref.len = 3;
        ref.n[0] = 1;
        ref.n[1] = 2;
        ref.n[2] = 3;
        REQUIRE(ei_x_encode_ref(t.get(), &ref) == 0);
        terms.push_back(t.str());
    }
    {
        // {ok, [1, {}], #{<<"k">> => []}, [a | b]}
        etf_writer t;
        ei_x_buff *x = t.get();
        REQUIRE(ei_x_encode_tuple_header(x, 4) == 0);
        REQUIRE(ei_x_encode_atom(x, "ok") == 0);
        REQUIRE(ei_x_encode_list_header(x, 2) == 0);
        REQUIRE(ei_x_encode_long(x, 1) == 0);
        REQUIRE(ei_x_encode_tuple_header(x, 0) == 0);
        REQUIRE(ei_x_encode_empty_list(x) == 0);
        REQUIRE(ei_x_encode_map_header(x, 1) == 0);
        REQUIRE(ei_x_encode_binary(x, "k", 1) == 0);
        REQUIRE(ei_x_encode_empty_list(x) == 0);
        REQUIRE(ei_x_encode_list_header(x, 1) == 0);
        REQUIRE(ei_x_encode_atom(x, "a") == 0);
        REQUIRE(ei_x_encode_atom(x, "b") == 0);
        terms.push_back(t.str());
    }
    {
        etf_writer t;
        ei_x_buff *x = t.get();
        REQUIRE(ei_x_encode_tuple_header(x, 300) == 0); // LARGE_TUPLE_EXT
        for (int i = 0; i < 300; ++i) {
            REQUIRE(ei_x_encode_long(x, i) == 0);
        }
        terms.push_back(t.str());
    }
    for (std::size_t i = 0; i < terms.size(); ++i) {
        INFO("term " << i);
        term_check_result r = check(terms[i]);
        CHECK(r.ok);
        CHECK(r.error == "");
        CHECK(r.offset == terms[i].size());
        // ei agrees that it is one whole term.
        int index = 1;
        CHECK(ei_skip_term(terms[i].data(), &index) == 0);
        CHECK(std::size_t(index) == terms[i].size());
    }
}

TEST_CASE("term check reports the nesting depth", "[term]") {
    CHECK(check(bytes({131, 97, 1})).depth == 0);
    CHECK(check(bytes({131, 106})).depth == 0);
    CHECK(check(bytes({131, 104, 0})).depth == 0);
    CHECK(check(bytes({131, 104, 1, 97, 1})).depth == 1);
    CHECK(check(deep_tuple(7)).depth == 7);
    CHECK(check(deep_list(7)).depth == 7);
    CHECK(check(erl_nested).depth == 4); // tuple, list, map, improper list
}

TEST_CASE("term check rejects a missing version byte", "[term]") {
    for (const std::string &s : {std::string(), bytes({106}), bytes({130, 106}), bytes({97, 1})}) {
        INFO("input size " << s.size());
        term_check_result r = check(s);
        CHECK_FALSE(r.ok);
        CHECK(r.error == "missing ETF version byte 131");
        CHECK(r.offset == 0);
    }
    // The version byte alone is not a term.
    term_check_result r = check(bytes({131}));
    CHECK_FALSE(r.ok);
    CHECK(r.error == "truncated term");
    CHECK(r.offset == 1);
}

TEST_CASE("term check rejects every truncation of a valid nested term", "[term]") {
    const std::set<std::string> truncation_errors = {
        "missing ETF version byte 131", "truncated term", "arity larger than the remaining input"};
    for (const std::string &term : {erl_nested, every_tag(), erl_fun, erl_ref, deep_list(20)}) {
        REQUIRE(check(term).ok);
        for (std::size_t n = 0; n < term.size(); ++n) {
            INFO("prefix of " << n << " of " << term.size() << " bytes");
            term_check_result r = check(term.substr(0, n));
            CHECK_FALSE(r.ok);
            CHECK(truncation_errors.count(r.error) == 1);
            CHECK(r.offset <= n);
        }
    }
}

TEST_CASE("term check does not read past a truncated buffer", "[term]") {
    // Each prefix ends right before an unreadable page.
    std::string term = every_tag();
    for (std::size_t n = 0; n < term.size(); ++n) {
        CHECK_FALSE(check(term.substr(0, n)).ok);
    }
}

TEST_CASE("term check rejects an unknown tag", "[term]") {
    for (int tag : {0, 1, 69, 80, 82, 85, 117, 200, 255}) {
        INFO("tag " << tag);
        term_check_result r = check(bytes({131, tag, 0, 0, 0, 0}));
        CHECK_FALSE(r.ok);
        CHECK(r.error == "unsupported ETF tag " + std::to_string(tag));
        CHECK(r.offset == 2);
    }
    // Deep inside a list, after two good elements.
    term_check_result r = check(bytes({131, 108, 0, 0, 0, 3, 97, 1, 97, 2, 80, 106}));
    CHECK_FALSE(r.ok);
    CHECK(r.error == "unsupported ETF tag 80");
    CHECK(r.offset == 11);
}

TEST_CASE("term check rejects a non-atom where an atom belongs", "[term]") {
    std::string pid_with_int_node = bytes({131, 88, 97, 1}) + std::string(12, '\0');
    term_check_result r = check(pid_with_int_node);
    CHECK_FALSE(r.ok);
    CHECK(r.error == "expected an atom");
    std::string ref_with_binary_node
        = bytes({131, 90, 0, 1, 109, 0, 0, 0, 0}) + std::string(8, '\0');
    CHECK(check(ref_with_binary_node).error == "expected an atom");
}

TEST_CASE("term check rejects a length over the remaining input", "[term]") {
    struct sample {
        const char *name;
        std::string term;
        const char *error;
    };
    std::vector<sample> samples = {
        {"SMALL_TUPLE_EXT", bytes({131, 104, 3, 97, 1}), "arity larger than the remaining input"},
        {"LARGE_TUPLE_EXT",
         bytes({131, 105, 255, 255, 255, 255, 106}),
         "arity larger than the remaining input"},
        {"LIST_EXT",
         bytes({131, 108, 0, 0, 0, 5, 97, 1, 106}),
         "arity larger than the remaining input"},
        {"LIST_EXT (2**32 - 1 elements)",
         bytes({131, 108, 255, 255, 255, 255, 106}),
         "arity larger than the remaining input"},
        {"MAP_EXT",
         bytes({131, 116, 0, 0, 0, 3, 97, 1, 97, 2}),
         "arity larger than the remaining input"},
        {"MAP_EXT (2**32 - 1 pairs)",
         bytes({131, 116, 255, 255, 255, 255, 106}),
         "arity larger than the remaining input"},
        {"BINARY_EXT", bytes({131, 109, 0, 0, 0, 4}) + "abc", "truncated term"},
        {"BINARY_EXT (4 GiB)", bytes({131, 109, 255, 255, 255, 255}) + "abc", "truncated term"},
        {"STRING_EXT", bytes({131, 107, 0, 4, 1, 2, 3}), "truncated term"},
        {"ATOM_EXT", bytes({131, 100, 0, 6}) + "hello", "truncated term"},
        {"SMALL_ATOM_UTF8_EXT", bytes({131, 119, 6}) + "hello", "truncated term"},
        {"SMALL_BIG_EXT", bytes({131, 110, 4, 0, 1, 2, 3}), "truncated term"},
        {"LARGE_BIG_EXT", bytes({131, 111, 255, 255, 255, 255, 0, 1}), "truncated term"},
        {"BIT_BINARY_EXT", bytes({131, 77, 0, 0, 0, 3, 4, 1, 2}), "truncated term"},
        {"NEW_FUN_EXT", bytes({131, 112, 0, 0, 1, 0, 0}), "truncated term"},
        {"node atom of a pid", bytes({131, 88, 100, 0, 200}) + "nonode@nohost", "truncated term"},
        {"NEWER_REFERENCE_EXT words",
         bytes({131, 90, 0, 3}) + node + std::string(4 + 11, '\0'),
         "truncated term"},
    };
    for (const sample &s : samples) {
        INFO(s.name);
        term_check_result r = check(s.term);
        CHECK_FALSE(r.ok);
        CHECK(r.error == s.error);
        CHECK(r.offset <= s.term.size());
    }
}

TEST_CASE("term check rejects trailing bytes after the term", "[term]") {
    term_check_result r = check(bytes({131, 106, 106}));
    CHECK_FALSE(r.ok);
    CHECK(r.error == "trailing bytes after the term");
    CHECK(r.offset == 2);

    std::string two_terms = erl_nested + erl_nested.substr(1);
    r = check(two_terms);
    CHECK_FALSE(r.ok);
    CHECK(r.error == "trailing bytes after the term");
    CHECK(r.offset == erl_nested.size());

    CHECK(check(erl_nested + std::string(1, '\0')).error == "trailing bytes after the term");
}

TEST_CASE("term check rejects a term nested deeper than max_depth", "[term]") {
    for (std::size_t depth : {1, 2, 5, 31, 32, 33, 34, 64}) { // 32 levels are kept in place
        INFO("depth " << depth);
        for (const std::string &term : {deep_tuple(depth), deep_list(depth)}) {
            term_check_result at_limit = check(term, depth);
            CHECK(at_limit.ok);
            CHECK(at_limit.depth == depth);
            term_check_result over = check(term, depth - 1);
            CHECK_FALSE(over.ok);
            CHECK(over.error == "term nested deeper than the maximum depth");
            CHECK(over.depth == depth);
        }
    }
    // A leaf is at depth 0, so even max_depth 0 accepts it.
    CHECK(check(bytes({131, 97, 1}), 0).ok);
    CHECK_FALSE(check(bytes({131, 104, 1, 97, 1}), 0).ok);
    // Width is not depth: a long flat list stays at depth 1.
    std::string flat = bytes({131, 108}) + u32(1000);
    for (int i = 0; i < 1000; ++i) {
        flat += bytes({97, 1});
    }
    flat += char(106);
    CHECK(check(flat, 1).ok);
}

TEST_CASE("term check counts a map's and an improper tail's nesting", "[term]") {
    // #{1 => #{2 => 3}}
    std::string maps = bytes({131, 116, 0, 0, 0, 1, 97, 1, 116, 0, 0, 0, 1, 97, 2, 97, 3});
    CHECK(check(maps, 2).ok);
    CHECK(check(maps, 1).error == "term nested deeper than the maximum depth");
    // [1 | [2 | {3}]] nests through the tail.
    std::string tails
        = bytes({131, 108, 0, 0, 0, 1, 97, 1, 108, 0, 0, 0, 1, 97, 2, 104, 1, 97, 3});
    CHECK(check(tails, 3).ok);
    CHECK_FALSE(check(tails, 2).ok);
}

TEST_CASE("term check handles a 100,000-deep nested list without recursion", "[term]") {
    const std::size_t depth = 100000;
    std::string term = deep_list(depth);
    term_check_result limited = check(term);
    CHECK_FALSE(limited.ok);
    CHECK(limited.error == "term nested deeper than the maximum depth");
    CHECK(limited.depth == default_max_depth + 1);

    term_check_result allowed = check(term, depth);
    CHECK(allowed.ok);
    CHECK(allowed.depth == depth);
    CHECK(allowed.offset == term.size());

    CHECK_FALSE(check(term, depth - 1).ok);
    // Truncated at the deepest point: still a clean rejection.
    CHECK(check(term.substr(0, term.size() - 1), depth).error == "truncated term");
}

TEST_CASE("term check rejects a bad bitstring bit count", "[term]") {
    for (int bits : {0, 9, 255}) {
        INFO("bits " << bits);
        term_check_result r = check(bytes({131, 77, 0, 0, 0, 1, bits, 0}));
        CHECK_FALSE(r.ok);
        CHECK(r.error == "bad bit count in a bitstring");
    }
    // No bytes cannot carry 1..8 bits in the last byte.
    term_check_result empty = check(bytes({131, 77, 0, 0, 0, 0, 3}));
    CHECK_FALSE(empty.ok);
    CHECK(empty.error == "bad bit count in a bitstring");
    for (int bits = 1; bits <= 8; ++bits) {
        CHECK(check(bytes({131, 77, 0, 0, 0, 1, bits, 0})).ok);
    }
}

TEST_CASE("term check rejects references with too many words", "[term]") {
    for (int tag : {114, 90}) { // NEW_REFERENCE_EXT, NEWER_REFERENCE_EXT
        std::size_t creation = tag == 114 ? 1 : 4;
        INFO("tag " << tag);
        for (int words = 0; words <= 5; ++words) {
            std::string ok = bytes({131, tag, 0, words}) + node + std::string(creation, '\0')
                             + std::string(4 * std::size_t(words), '\1');
            CHECK(check(ok).ok);
        }
        for (int words : {6, 255, 65535}) {
            std::string bad = bytes({131, tag}) + u16(std::uint32_t(words)) + node
                              + std::string(creation, '\0')
                              + std::string(4 * std::size_t(words), '\1');
            term_check_result r = check(bad);
            CHECK_FALSE(r.ok);
            CHECK(r.error == "reference with too many words");
        }
    }
}

TEST_CASE("term check rejects a fun size below its own size field", "[term]") {
    for (std::uint32_t size : {0u, 1u, 3u}) {
        term_check_result r = check(bytes({131, 112}) + u32(size) + std::string(40, '\0'));
        CHECK_FALSE(r.ok);
        CHECK(r.error == "bad fun size");
    }
}

TEST_CASE("term check rejects a fun whose fields run past its size", "[term]") {
    // ei reads a fun's fixed fields, module, indexes and pid whatever its Size
    // says: a Size that ends before them would let ei read past the term.
    std::string shrunk = erl_fun;
    shrunk[5] = char(4); // Size 4: nothing after the size field
    term_check_result r = check(shrunk.substr(0, 6));
    CHECK_FALSE(r.ok);
    CHECK(r.error == "bad fun size");

    // Size covers everything up to the pid, but not the pid itself.
    std::string cut = bytes({131, 112}) + u32(4 + 1 + 16 + 4 + 4) + std::string(25, '\0')
                      + erl_fun.substr(31, erl_fun.size() - 31);
    term_check_result cut_r = check(cut);
    CHECK_FALSE(cut_r.ok);
    CHECK(cut_r.error == "bad fun size");

    // The module must be an atom, the old index an integer, then a pid.
    std::string not_atom = erl_fun;
    not_atom[31] = char(97);
    CHECK(check(not_atom).error == "expected an atom");
    std::string not_integer = erl_fun;
    not_integer[42] = char(106);
    CHECK(check(not_integer).error == "expected an integer");
    std::string not_pid = erl_fun;
    not_pid[49] = char(97);
    CHECK(check(not_pid).error == "expected a pid");
}

TEST_CASE("term check rejects a fun whose free variables miss its size", "[term]") {
    REQUIRE(erl_fun[30] == 1); // NumFree
    // No free variables: the bytes up to Size are left over.
    std::string none = erl_fun;
    none[30] = 0;
    CHECK(check(none).error == "bad fun size");
    // Two free variables: the second runs past Size.
    std::string two = erl_fun;
    two[30] = 2;
    CHECK(check(two + bytes({106})).error == "bad fun size");
    CHECK(check(two).error == "truncated term");
    // Inside a list, followed by another term, the real fun is fine.
    CHECK(check(bytes({131, 108, 0, 0, 0, 2}) + erl_fun.substr(1) + bytes({97, 1, 106})).ok);
}

TEST_CASE("term check rejects an atom longer than 255 characters", "[term]") {
    // Erlang's limit; ei would also overflow its name buffer converting a
    // long latin-1 atom to UTF-8.
    std::string latin1_255 = bytes({131, 100}) + u16(255) + std::string(255, char(0xe9));
    CHECK(check(latin1_255).ok);
    std::string latin1_256 = bytes({131, 100}) + u16(256) + std::string(256, 'a');
    term_check_result r = check(latin1_256);
    CHECK_FALSE(r.ok);
    CHECK(r.error == "atom longer than 255 characters");

    std::string utf8_1020 = bytes({131, 118}) + u16(1020) + std::string(1020, 'a');
    CHECK_FALSE(check(utf8_1020).ok); // 1020 one-byte characters
    std::string utf8_255_chars = bytes({131, 118}) + u16(255 * 2);
    for (int i = 0; i < 255; ++i) {
        utf8_255_chars += "\xc3\xa9";
    }
    CHECK(check(utf8_255_chars).ok);
    std::string utf8_too_long = bytes({131, 118}) + u16(1021) + std::string(1021, 'a');
    CHECK(check(utf8_too_long).error == "atom longer than 255 characters");
}
