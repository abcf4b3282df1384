#include "cli/stop_signals.h"

#include <signal.h>

#include <initializer_list>

namespace pagetrace {

namespace {

volatile std::sig_atomic_t g_stop_signal = 0;

void on_stop_signal(int signum) { g_stop_signal = signum; }

}  // namespace

const volatile std::sig_atomic_t* install_stop_signal_handlers() {
    struct sigaction sa{};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
    struct sigaction ign{};
    ign.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ign, nullptr);
    return &g_stop_signal;
}

}  // namespace pagetrace
