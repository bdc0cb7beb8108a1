#pragma once
// The part of a Rank that every backend shares: the phase stack and turning what happened into
// TraceEvents at the chosen level of detail. Backends derive from it and call the record_* helpers.
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/experiment.hpp"
#include "core/rank.hpp"
#include "core/trace.hpp"

namespace dmlsim::core {

class TracingRank : public Rank {
 public:
  TracingRank(int rank, int size, Trace& trace, TraceDetail detail);

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void begin_phase(std::string_view name, int iteration, const EventAttributes& attributes,
                   std::uint64_t bytes) override;
  void end_phase() override;
  void mark(std::string_view name) override;
  void count(std::string_view series, double value) override;

  // Iteration of the innermost phase that names one (or the stream's, see set_default_iteration).
  int current_iteration() const;
  void set_default_iteration(int iteration) { default_iteration_ = iteration; }
  // Attributes of the innermost phase (or the stream's, see set_default_attributes).
  const EventAttributes& current_attributes() const;
  void set_default_attributes(const EventAttributes& a) { default_attributes_ = a; }

 protected:
  void record_compute(const Kernel& kernel, double start, double end);
  void record_instant(Lane lane, std::string_view name, double value);
  // A finished message; `seq` pairs the send with its receive, `comm` names the communicator of the
  // tag's context ("" outside any).
  void record_message(Lane lane, int peer, std::uint64_t bytes, Tag tag, std::string_view comm,
                      std::uint32_t seq, double start, double end);
  void on_collective(const Schedule& schedule, ElementBuffer buffer, double start, double end) override;
  void on_collective_part(const Schedule& schedule, const SchedulePart& part, std::uint32_t index,
                          ElementBuffer buffer, double start, double end) override;

  Trace& trace_;
  TraceDetail detail_;

 private:
  struct OpenPhase {
    std::uint32_t name;
    int iteration;
    double start;
    EventAttributes attributes;  // merged with the enclosing phases'
    std::uint64_t bytes;         // the message size the phase is about, 0 if none
  };
  int rank_;
  int size_;
  int default_iteration_ = -1;
  EventAttributes default_attributes_;
  std::vector<OpenPhase> phases_;
};

// Numbers messages per (sender, receiver, context, tag), separately for the sending and the
// receiving side: with FIFO matching the k-th send is received by the k-th receive, which is how
// the trace pairs them into flow arrows. One per process (real) or per simulation (sim).
class MessageSequencer {
 public:
  std::uint32_t next_send(int src, int dst, Tag tag) { return next({src, dst, tag, 0}); }
  std::uint32_t next_recv(int src, int dst, Tag tag) { return next({src, dst, tag, 1}); }

  // (sender, receiver, tag): what a message is matched on, in every backend's tables.
  struct Channel {
    int src = 0;
    int dst = 0;
    Tag tag;
    int side = 0;
    friend bool operator==(const Channel&, const Channel&) = default;
  };
  struct ChannelHash {
    std::size_t operator()(const Channel& c) const;
  };

 private:
  std::uint32_t next(const Channel& channel) { return counts_[channel]++; }
  std::unordered_map<Channel, std::uint32_t, ChannelHash> counts_;
};

}  // namespace dmlsim::core
