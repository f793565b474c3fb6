// Catch2 tests of the handle table and of handle terms decoded into the objects they name.
#include "codec_test_support.hpp"
#include "python/handle_table.hpp"
#include "terms/term_codec.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <ei.h>
#include <string>

using namespace erlang_python;
using namespace etf_test;

namespace {

// A reference of node a@b with id n, as ei writes it (with no version byte).
std::string ref_bytes(unsigned n) {
    etf_writer t;
    erlang_ref ref{};
    std::strcpy(ref.node, "a@b");
    ref.len = 3;
    ref.n[0] = n;
    ref.n[1] = 2;
    ref.n[2] = 3;
    REQUIRE(ei_x_encode_ref(t.get(), &ref) == 0);
    return t.str().substr(1);
}

// {'$py_ref', Ref, 7, extra}: a handle as Erlang sends it (the fields after
// the key only route it in Erlang).
std::string handle_term(const std::string &key) {
    etf_writer t;
    REQUIRE(ei_x_encode_tuple_header(t.get(), 4) == 0);
    REQUIRE(ei_x_encode_atom(t.get(), "$py_ref") == 0);
    REQUIRE(ei_x_append_buf(t.get(), key.data(), int(key.size())) == 0);
    REQUIRE(ei_x_encode_long(t.get(), 7) == 0);
    REQUIRE(ei_x_encode_atom(t.get(), "extra") == 0);
    return t.str();
}

} // namespace

TEST_CASE("handle table keeps, finds and releases objects", "[handles]") {
    handle_table &table = handle_table::instance();
    std::string key = ref_bytes(101);
    std::size_t before = table.size();
    py::list obj;
    REQUIRE(table.store(key, obj));
    CHECK(table.size() == before + 1);
    CHECK(table.find(key.data(), key.size()).is(obj));
    table.release(key);
    CHECK(table.size() == before);
    CHECK(!table.find(key.data(), key.size()));
}

TEST_CASE("a release that comes before the store makes the store drop its object", "[handles]") {
    handle_table &table = handle_table::instance();
    std::string key = ref_bytes(102);
    std::size_t before = table.size();
    table.release(key);
    CHECK(table.early_releases() >= 1);
    CHECK(!table.store(key, py::list()));
    CHECK(table.size() == before);
    CHECK(!table.find(key.data(), key.size()));
}

TEST_CASE("a handle term decodes into the object it names, nested too", "[handles]") {
    handle_table &table = handle_table::instance();
    std::string key = ref_bytes(103);
    py::dict obj;
    REQUIRE(table.store(key, obj));
    CHECK(decode(handle_term(key)).is(obj));
    // In a list: [Handle, 1]
    std::string h = handle_term(key).substr(1);
    std::string list = bytes({131, 108}) + u32(2) + h + bytes({97, 1, 106});
    py::list decoded(decode(list));
    CHECK(py::object(decoded[0]).is(obj));
    table.release(key);
}

TEST_CASE("a handle term the table does not hold raises ReferenceError", "[handles]") {
    std::string key = ref_bytes(104);
    try {
        decode(handle_term(key));
        FAIL("decoded an unknown handle");
    } catch (py::error_already_set &e) {
        CHECK(e.matches(PyExc_ReferenceError));
    }
    // A tuple whose second element is no reference is an ordinary tuple.
    etf_writer t;
    REQUIRE(ei_x_encode_tuple_header(t.get(), 2) == 0);
    REQUIRE(ei_x_encode_atom(t.get(), "$py_ref") == 0);
    REQUIRE(ei_x_encode_long(t.get(), 1) == 0);
    CHECK(py::isinstance<py::tuple>(decode(t.str())));
}

TEST_CASE("call_ref and release bodies give their keys", "[handles]") {
    std::string key = ref_bytes(105);
    etf_writer call;
    REQUIRE(ei_x_encode_tuple_header(call.get(), 5) == 0);
    REQUIRE(ei_x_encode_binary(call.get(), "m", 1) == 0);
    REQUIRE(ei_x_encode_binary(call.get(), "f", 1) == 0);
    REQUIRE(ei_x_encode_empty_list(call.get()) == 0);
    REQUIRE(ei_x_encode_map_header(call.get(), 0) == 0);
    REQUIRE(ei_x_append_buf(call.get(), key.data(), int(key.size())) == 0);
    std::string body = call.str();
    CHECK(call_ref_key(body.data(), body.size(), default_max_depth) == key);

    etf_writer release;
    REQUIRE(ei_x_encode_list_header(release.get(), 2) == 0);
    REQUIRE(ei_x_append_buf(release.get(), key.data(), int(key.size())) == 0);
    std::string other = ref_bytes(106);
    REQUIRE(ei_x_append_buf(release.get(), other.data(), int(other.size())) == 0);
    REQUIRE(ei_x_encode_empty_list(release.get()) == 0);
    std::string keys_body = release.str();
    std::vector<std::string> keys = handle_keys(keys_body.data(), keys_body.size());
    REQUIRE(keys.size() == 2);
    CHECK(keys[0] == key);
    CHECK(keys[1] == other);

    etf_writer bad;
    REQUIRE(ei_x_encode_list_header(bad.get(), 1) == 0);
    REQUIRE(ei_x_encode_long(bad.get(), 1) == 0);
    REQUIRE(ei_x_encode_empty_list(bad.get()) == 0);
    std::string bad_body = bad.str();
    CHECK_THROWS_AS(handle_keys(bad_body.data(), bad_body.size()), term_error);
    CHECK(!is_release_all(keys_body.data(), keys_body.size()));
    etf_writer all;
    REQUIRE(ei_x_encode_atom(all.get(), "all") == 0);
    std::string all_body = all.str();
    CHECK(is_release_all(all_body.data(), all_body.size()));
}

TEST_CASE("clearing the handle table drops every object", "[handles]") {
    handle_table &table = handle_table::instance();
    REQUIRE(table.store(ref_bytes(107), py::list()));
    REQUIRE(table.store(ref_bytes(108), py::list()));
    table.clear();
    CHECK(table.size() == 0);
}
