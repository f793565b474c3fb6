// The echo port's term copier: decodes one ETF term with ei and encodes it again (the floor's work per value).
#pragma once

#include <ei.h>

namespace echo_port {

// Decodes the term at buf[*index] and encodes the same term into out,
// advancing *index past it. Binaries and strings are copied out and back
// in, as a real decoder would. Throws std::runtime_error on a bad term.
void echo_term(const char *buf, int *index, ei_x_buff *out);

} // namespace echo_port
