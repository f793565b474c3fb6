// What the whole port process shares: its options, the frame writer and the callback ref counter.
#include "port_runtime.hpp"

namespace erlang_python {

port_runtime &runtime() {
    static port_runtime instance;
    return instance;
}

} // namespace erlang_python
