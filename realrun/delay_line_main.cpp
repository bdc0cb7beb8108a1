// dmlsim-delayline: holds every packet of an NFQUEUE for a fixed delay, then lets it go. It adds
// link latency inside a testbed namespace on kernels without netem (notes/testbed.md measured
// 500 µs configured → 519–535 µs one-way). Packets leave in arrival order (one delay for all), so
// a FIFO of (packet id, due time) is all the state there is.
//   dmlsim-delayline --queue N --delay-us D
#include <arpa/inet.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <time.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>

namespace {

struct Held {
  std::uint32_t id;
  std::int64_t due_ns;
};

struct State {
  nfq_q_handle* queue = nullptr;
  std::int64_t delay_ns = 0;
  std::deque<Held> held;
};

std::int64_t now_ns() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

int on_packet(nfq_q_handle*, nfgenmsg*, nfq_data* data, void* user) {
  auto* state = static_cast<State*>(user);
  const nfqnl_msg_packet_hdr* header = nfq_get_msg_packet_hdr(data);
  if (header != nullptr) state->held.push_back({ntohl(header->packet_id), now_ns() + state->delay_ns});
  return 0;
}

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "dmlsim-delayline: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  int queue_number = 0;
  double delay_us = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    if (key == "--queue") queue_number = std::atoi(argv[i + 1]);
    if (key == "--delay-us") delay_us = std::atof(argv[i + 1]);
  }
  prctl(PR_SET_TIMERSLACK, 1UL);  // wake-ups to the nanosecond, not the default 50 µs
  // The delay line stands for a wire, not for a host: it must not wait for a CPU behind the
  // ranks that share the machine's cores (a wake-up could wait a 4 ms scheduler tick, which TCP
  // sees as a longer and jittery round trip). Real-time priority runs it first; where that is
  // not allowed it runs at normal priority.
  const sched_param priority{.sched_priority = 10};
  if (sched_setscheduler(0, SCHED_FIFO, &priority) != 0)
    std::fprintf(stderr, "dmlsim-delayline: at normal priority (%s): added latency may be longer\n",
                 std::strerror(errno));

  State state;
  state.delay_ns = static_cast<std::int64_t>(delay_us * 1000);
  nfq_handle* handle = nfq_open();
  if (handle == nullptr) die("nfq_open");
  nfq_unbind_pf(handle, AF_INET);
  if (nfq_bind_pf(handle, AF_INET) < 0) die("nfq_bind_pf");
  state.queue = nfq_create_queue(handle, static_cast<std::uint16_t>(queue_number), &on_packet, &state);
  if (state.queue == nullptr) die("nfq_create_queue");
  if (nfq_set_mode(state.queue, NFQNL_COPY_META, 0) < 0) die("nfq_set_mode");
  nfq_set_queue_maxlen(state.queue, 1 << 16);
  // Whole GSO packets (up to 64 KiB) rather than one per 1500-byte frame: the kernel would
  // otherwise segment every TCP burst before queueing it, and at 1 Gbit/s the ~80 000 verdicts a
  // second made this process, not the link, the bottleneck (a 1 Gbit/s host with 1 ms added
  // calibrated at 39 % of its rate). Kernels without the flag keep working, segment by segment.
  nfq_set_queue_flags(state.queue, NFQA_CFG_F_GSO, NFQA_CFG_F_GSO);
  nfnl_rcvbufsiz(nfq_nfnlh(handle), 16 << 20);
  const int fd = nfq_fd(handle);

  char buffer[1 << 16];
  for (;;) {
    // Let due packets go, then sleep until the next is due or a new one arrives. Every packet
    // waits the same delay, so the due ones are the oldest: one batch verdict accepts them all
    // (the kernel accepts every queued id up to the one named).
    const std::int64_t now = now_ns();
    if (!state.held.empty() && state.held.front().due_ns <= now) {
      std::uint32_t last = 0;
      while (!state.held.empty() && state.held.front().due_ns <= now) {
        last = state.held.front().id;
        state.held.pop_front();
      }
      nfq_set_verdict_batch(state.queue, last, NF_ACCEPT);
    }
    timespec timeout{};
    timespec* wait = nullptr;
    if (!state.held.empty()) {
      const std::int64_t left = state.held.front().due_ns - now;
      timeout.tv_sec = left / 1'000'000'000;
      timeout.tv_nsec = left % 1'000'000'000;
      wait = &timeout;
    }
    pollfd p{fd, POLLIN, 0};
    const int ready = ppoll(&p, 1, wait, nullptr);
    if (ready < 0 && errno != EINTR) die("ppoll");
    if (ready > 0) {
      // Take every packet already waiting, not one per wake-up.
      ssize_t n = 0;
      while ((n = recv(fd, buffer, sizeof buffer, MSG_DONTWAIT)) > 0)
        nfq_handle_packet(handle, buffer, static_cast<int>(n));
    }
  }
}
