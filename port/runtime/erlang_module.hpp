// The native module `_erlang`: erlang.call, erlang.send and the package's built-ins for any Python thread.
#pragma once

namespace erlang_python {

class dispatcher;

// Requires the GIL, once, after the interpreter has started and before
// any Python code imports `erlang`: makes the module `_erlang` (in
// sys.modules), its functions bound to `d`, and makes time.sleep the
// interruptible _erlang.sleep. `d` must outlive the interpreter.
void install_erlang_module(dispatcher &d);

} // namespace erlang_python
