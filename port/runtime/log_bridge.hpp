// Python logging records into the OTP logger: level mapping, the level threshold, `log` frames.
#pragma once

#include <atomic>
#include <climits>
#include <cstdint>
#include <string>
#include <sys/types.h>
#include <unistd.h>

namespace erlang_python {

// The OTP level of a Python record of level `levelno`: below 20 debug,
// 20-24 info, 25-29 notice, 30-39 warning, 40-49 error, 50-59 critical,
// 60-69 alert, 70 and above emergency.
const char *otp_level(long levelno);

// The lowest Python levelno whose records an OTP primary level lets
// through: the inverse of otp_level (`all` and `debug` let everything
// through, `none` nothing). Throws std::invalid_argument for a name that is
// not an OTP level.
long python_threshold(const std::string &otp_level_name);

// Records below the threshold are counted and not sent. Any thread, no GIL.
struct log_bridge_state {
    std::atomic<long> threshold{python_threshold_notice};
    std::atomic<std::uint64_t> sent{0};
    std::atomic<std::uint64_t> dropped{0};
    // A child made by fork() (multiprocessing's default) shares the
    // protocol pipe but must not write frames into it.
    const pid_t owner = ::getpid();

    static constexpr long python_threshold_notice = 25; // OTP's default primary level
    static constexpr long nothing = LONG_MAX;           // the level `none`

    // Counts the record as dropped when it is below the threshold.
    bool enabled(long levelno) {
        if (levelno >= threshold.load(std::memory_order_relaxed)) {
            return true;
        }
        dropped.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
};

// Requires the GIL. Stores the threshold for `level` (an OTP level name)
// and, when the bridge is installed on the root logger, lets it adjust the
// root logger's level (python/erlang/_logging.py).
void apply_log_level(log_bridge_state &state, const std::string &level);

} // namespace erlang_python
