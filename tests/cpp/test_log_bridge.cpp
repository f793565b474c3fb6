// Catch2 tests of the log bridge's level mapping and threshold (log_bridge.hpp).
#include "runtime/log_bridge.hpp"

#include <catch2/catch.hpp>
#include <stdexcept>

using namespace erlang_python;

TEST_CASE("Python's named levels map to the OTP levels of the same name", "[log]") {
    CHECK(std::string(otp_level(10)) == "debug");
    CHECK(std::string(otp_level(20)) == "info");
    CHECK(std::string(otp_level(30)) == "warning");
    CHECK(std::string(otp_level(40)) == "error");
    CHECK(std::string(otp_level(50)) == "critical");
}

TEST_CASE("levels between Python's names map to the OTP level below them", "[log]") {
    CHECK(std::string(otp_level(0)) == "debug");
    CHECK(std::string(otp_level(-5)) == "debug");
    CHECK(std::string(otp_level(5)) == "debug");
    CHECK(std::string(otp_level(19)) == "debug");
    CHECK(std::string(otp_level(24)) == "info");
    CHECK(std::string(otp_level(25)) == "notice");
    CHECK(std::string(otp_level(29)) == "notice");
    CHECK(std::string(otp_level(35)) == "warning");
    CHECK(std::string(otp_level(45)) == "error");
    CHECK(std::string(otp_level(59)) == "critical");
    CHECK(std::string(otp_level(60)) == "alert");
    CHECK(std::string(otp_level(70)) == "emergency");
    CHECK(std::string(otp_level(1000)) == "emergency");
}

TEST_CASE("a record is sent exactly when its OTP level reaches the primary level", "[log]") {
    const char *order[]
        = {"emergency", "alert", "critical", "error", "warning", "notice", "info", "debug"};
    auto rank = [&](const std::string &name) {
        for (int i = 0; i < 8; ++i) {
            if (name == order[i]) {
                return i;
            }
        }
        return -1;
    };
    for (const char *primary : order) {
        long threshold = python_threshold(primary);
        for (long levelno = -10; levelno <= 100; ++levelno) {
            INFO("primary " << primary << ", levelno " << levelno);
            bool reaches = rank(otp_level(levelno)) <= rank(primary);
            CHECK((levelno >= threshold) == reaches);
        }
    }
}

TEST_CASE("all lets every record through, none no record", "[log]") {
    log_bridge_state state;
    state.threshold = python_threshold("all");
    CHECK(state.enabled(-1000));
    state.threshold = python_threshold("none");
    CHECK_FALSE(state.enabled(1000000));
    CHECK(state.dropped == 1);
}

TEST_CASE("the threshold starts at notice and counts what it drops", "[log]") {
    log_bridge_state state;
    CHECK(state.threshold == python_threshold("notice"));
    CHECK_FALSE(state.enabled(20));
    CHECK(state.enabled(25));
    CHECK(state.enabled(40));
    CHECK(state.dropped == 1);
}

TEST_CASE("an unknown level name is an invalid_argument", "[log]") {
    CHECK_THROWS_AS(python_threshold("loud"), std::invalid_argument);
    CHECK_THROWS_AS(python_threshold(""), std::invalid_argument);
    CHECK_THROWS_AS(python_threshold("Info"), std::invalid_argument);
}
