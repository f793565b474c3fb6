// What the whole port process shares: options, frame writer, callback refs, log bridge state.
#include "runtime/port_runtime.hpp"

namespace erlang_python {

port_runtime &runtime() {
    static port_runtime instance;
    return instance;
}

} // namespace erlang_python
