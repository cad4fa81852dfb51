#include "control/queue_file.hpp"

#include <fstream>

#include <fmt/format.h>

namespace tandem::control {

std::vector<TaskSpec> read_queue_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::invalid_argument(fmt::format("cannot open queue file {}", path.string()));
  std::vector<TaskSpec> tasks;
  std::string line;
  for (int no = 1; std::getline(in, line); ++no) {
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    try {
      auto request = parse_request(line);
      auto* task = std::get_if<TaskSpec>(&request);
      if (!task) throw ProtocolError("only tasks belong in a queue file");
      task->task = tasks.size();
      tasks.push_back(std::move(*task));
    } catch (const ProtocolError& e) {
      throw std::invalid_argument(fmt::format("{}:{}: {}", path.string(), no, e.what()));
    }
  }
  if (tasks.empty()) throw std::invalid_argument(fmt::format("queue file {} holds no tasks", path.string()));
  return tasks;
}

}  // namespace tandem::control
