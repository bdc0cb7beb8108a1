#pragma once
// An ordered subset of ranks that runs a collective together (a data-parallel group, a tensor
// group, the ranks of one node). Schedules speak in group indices; the group maps them to ranks.
// Traffic goes through a Communicator (communicator.hpp), made for a group by the backend.
#include <cstddef>
#include <memory>
#include <unordered_map>
#include <vector>

namespace dmlsim::core {

class Group {
 public:
  // Ranks first, first + stride, ... (size of them). Covers the world, nodes and rails in O(1) memory.
  static Group strided(int first, int size, int stride = 1);
  static Group world(int size) { return strided(0, size, 1); }
  // Any list of distinct ranks. A list in arithmetic progression becomes the strided group, so
  // that equal member lists give equal groups whichever way they were made.
  static Group of(std::vector<int> ranks);

  int size() const { return size_; }
  int at(int index) const {
    return ranks_ ? (*ranks_)[static_cast<std::size_t>(index)] : first_ + index * stride_;
  }
  // Index of `rank` in the group, or -1.
  int index_of(int rank) const;

  // Same members in the same order. O(1) for strided groups.
  friend bool operator==(const Group& a, const Group& b);
  std::size_t hash() const;

 private:
  Group() = default;
  int first_ = 0;
  int size_ = 0;
  int stride_ = 1;
  std::shared_ptr<const std::vector<int>> ranks_;                      // explicit list, or null
  std::shared_ptr<const std::unordered_map<int, int>> index_of_rank_;  // for explicit lists
};

}  // namespace dmlsim::core
