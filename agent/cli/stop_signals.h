// SIGINT/SIGTERM/SIGHUP request a clean stop instead of killing us, so pending
// events are written and every BPF link is detached on the way out.
#pragma once

#include <csignal>

namespace pagetrace {

// Installs the handlers (no SA_RESTART, so blocking waits return) and ignores
// SIGPIPE (a closed output is reported as EPIPE). Returns the flag they set to
// the signal number.
const volatile std::sig_atomic_t* install_stop_signal_handlers();

}  // namespace pagetrace
