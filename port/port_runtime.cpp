// What the whole port process shares: its options, the frame writer, the callback ref counter, the log bridge's state.
#include "port_runtime.hpp"

namespace erlang_python {

port_runtime &runtime() {
    static port_runtime instance;
    return instance;
}

} // namespace erlang_python
