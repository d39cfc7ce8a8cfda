#include "train/sys/interrupt.h"

#include <csignal>

namespace tlm::train {
namespace {

// A signal handler can only touch lock-free atomics / sig_atomic_t: this flag is the one
// piece of state it shares with the loop.
volatile std::sig_atomic_t g_signal = 0;
struct sigaction g_old_int {}, g_old_term {};

void on_signal(int sig) {
  if (g_signal != 0) {  // second request: behave as if we had no handler
    std::signal(sig, SIG_DFL);
    std::raise(sig);
    return;
  }
  g_signal = sig;
}

}  // namespace

InterruptGuard::InterruptGuard() {
  g_signal = 0;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &g_old_int);
  sigaction(SIGTERM, &sa, &g_old_term);
}

InterruptGuard::~InterruptGuard() {
  sigaction(SIGINT, &g_old_int, nullptr);
  sigaction(SIGTERM, &g_old_term, nullptr);
}

bool InterruptGuard::requested() const { return g_signal != 0; }
int InterruptGuard::signal_number() const { return g_signal; }

}  // namespace tlm::train
